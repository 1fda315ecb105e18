import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// Reading a data file's bytes, bounded: only a regular file (a device such as `/dev/zero`
/// or a FIFO would read for ever, or block), at most `maxBytes` of it.
enum DataFile {
  static func read(_ path: String, maxBytes: Int) throws -> Data {
    var info = stat()
    guard stat(path, &info) == 0 else {
      throw DataError(source: path, message: "cannot read: \(String(cString: strerror(errno)))")
    }
    guard info.st_mode & S_IFMT == S_IFREG else {
      throw DataError(source: path, message: "not a regular file (a directory, device or FIFO is not data)")
    }
    guard Int(info.st_size) <= maxBytes else {
      throw DataError(source: path, message: "\(info.st_size) bytes; a data file may be at most \(maxBytes)")
    }
    do {
      return try Data(contentsOf: URL(fileURLWithPath: path))
    } catch {
      throw DataError(source: path, message: "cannot read: \(error.localizedDescription)")
    }
  }
}
