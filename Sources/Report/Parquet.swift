import Foundation

/// Apache Parquet output for `ExportTable`, written by hand: one row group, one uncompressed
/// PLAIN-encoded data page (v1) per column, every column OPTIONAL (null allowed), and the
/// file metadata in Thrift's compact protocol — the subset of the format every reader
/// (pyarrow, fastparquet, DuckDB, Spark) takes. Why by hand: no Swift package among the
/// allowed ones writes Parquet, and this subset is about two hundred lines of a stable,
/// documented format (parquet-format's `parquet.thrift`).
///
/// Layout: `PAR1`, the column chunks (each one or more pages, a page header then its page:
/// definition levels as RLE runs behind a 4-byte length, then the non-null values
/// PLAIN-encoded), the `FileMetaData`, its length (4 bytes, little-endian) and `PAR1`.
/// A column is cut into pages of at most `pageBytes` bytes and `pageRows` rows, so every
/// page size and count fits the format's 32-bit fields however large the export.
extension ExportTable {
  public func parquet(createdBy: String = "sweepd", pageBytes: Int = 64 << 20, pageRows: Int = 1 << 20)
    -> [UInt8]
  {
    var file: [UInt8] = Array("PAR1".utf8)
    var chunks: [ThriftCompact] = []
    var totalBytes = 0
    for column in columns {
      let offset = file.count
      for slice in Self.slices(column, pageBytes: pageBytes, pageRows: pageRows) {
        let page = Self.page(Column(name: column.name, kind: column.kind, cells: Array(column.cells[slice])))
        var header = ThriftCompact()
        header.i32(1, 0)  // type: DATA_PAGE
        header.i32(2, Int32(page.count))  // uncompressed_page_size
        header.i32(3, Int32(page.count))  // compressed_page_size
        header.structure(5) { data in  // data_page_header
          data.i32(1, Int32(slice.count))  // num_values (nulls included)
          data.i32(2, 0)  // encoding: PLAIN
          data.i32(3, 3)  // definition_level_encoding: RLE
          data.i32(4, 3)  // repetition_level_encoding: RLE
        }
        header.stop()
        file += header.bytes + page
      }
      let size = file.count - offset
      totalBytes += size
      var chunk = ThriftCompact()
      chunk.i64(2, Int64(offset))  // file_offset
      chunk.structure(3) { meta in  // meta_data: ColumnMetaData
        meta.i32(1, column.kind.physicalType)  // type
        meta.i32List(2, [0, 3])  // encodings: PLAIN, RLE
        meta.stringList(3, [column.name])  // path_in_schema
        meta.i32(4, 0)  // codec: UNCOMPRESSED
        meta.i64(5, Int64(column.cells.count))  // num_values
        meta.i64(6, Int64(size))  // total_uncompressed_size
        meta.i64(7, Int64(size))  // total_compressed_size
        meta.i64(9, Int64(offset))  // data_page_offset
      }
      chunk.stop()
      chunks.append(chunk)
    }
    var metadata = ThriftCompact()
    metadata.i32(1, 1)  // version
    metadata.structList(2, count: columns.count + 1) { index, element in  // schema
      if index == 0 {
        element.string(4, "schema")  // name
        element.i32(5, Int32(columns.count))  // num_children
      } else {
        let column = columns[index - 1]
        element.i32(1, column.kind.physicalType)  // type
        element.i32(3, 1)  // repetition_type: OPTIONAL
        element.string(4, column.name)  // name
        if column.kind == .string {
          element.i32(6, 0)  // converted_type: UTF8
          element.structure(10) { logical in logical.structure(1) { _ in } }  // logicalType: STRING
        }
      }
    }
    metadata.i64(3, Int64(rowCount))  // num_rows
    metadata.structList(4, count: 1) { _, group in  // row_groups
      group.rawStructList(1, chunks)  // columns
      group.i64(2, Int64(totalBytes))  // total_byte_size
      group.i64(3, Int64(rowCount))  // num_rows
    }
    metadata.string(6, createdBy)  // created_by
    metadata.stop()
    file += metadata.bytes
    let length = UInt32(metadata.bytes.count)
    file += (0..<4).map { UInt8(truncatingIfNeeded: length >> (8 * $0)) }
    file += Array("PAR1".utf8)
    return file
  }

  /// The row ranges of a column's pages: each at most `pageRows` rows and, but for a single
  /// row larger than it, about `pageBytes` bytes of values.
  static func slices(_ column: Column, pageBytes: Int, pageRows: Int) -> [Range<Int>] {
    var slices: [Range<Int>] = []
    var start = 0
    var bytes = 0
    for (row, cell) in column.cells.enumerated() {
      let size: Int
      switch cell {
      case .null, .bool: size = 1
      case .int, .double: size = 8
      case .string(let text): size = 4 + text.utf8.count
      }
      if row > start && (row - start >= pageRows || bytes + size > pageBytes) {
        slices.append(start..<row)
        (start, bytes) = (row, 0)
      }
      bytes += size
    }
    slices.append(start..<column.cells.count)
    return slices
  }

  /// A column's data page: definition levels (1 present, 0 null) as RLE runs behind their
  /// byte length, then the present values, PLAIN.
  static func page(_ column: Column) -> [UInt8] {
    var levels: [UInt8] = []
    var index = 0
    let present = column.cells.map { $0 != .null }
    while index < present.count {
      var run = 1
      while index + run < present.count && present[index + run] == present[index] { run += 1 }
      levels += ThriftCompact.varint(UInt64(run) << 1)  // an RLE run: count, then the value
      levels.append(present[index] ? 1 : 0)  // bit width 1: one byte
      index += run
    }
    var page = (0..<4).map { UInt8(truncatingIfNeeded: UInt32(levels.count) >> (8 * $0)) } + levels
    var bits: [Bool] = []
    for cell in column.cells {
      switch cell {
      case .null: continue
      case .int(let x): page += littleEndian(UInt64(bitPattern: Int64(x)))
      case .double(let x): page += littleEndian(x.bitPattern)
      case .bool(let flag): bits.append(flag)
      case .string(let text):
        let utf8 = Array(text.utf8)
        page += littleEndian32(UInt32(utf8.count)) + utf8
      }
    }
    // Booleans are bit-packed, least significant bit first.
    var byte: UInt8 = 0
    for (offset, bit) in bits.enumerated() {
      if bit { byte |= 1 << UInt8(offset % 8) }
      if offset % 8 == 7 {
        page.append(byte)
        byte = 0
      }
    }
    if bits.count % 8 != 0 { page.append(byte) }
    return page
  }

  static func littleEndian(_ x: UInt64) -> [UInt8] {
    (0..<8).map { UInt8(truncatingIfNeeded: x >> (8 * $0)) }
  }
  static func littleEndian32(_ x: UInt32) -> [UInt8] {
    (0..<4).map { UInt8(truncatingIfNeeded: x >> (8 * $0)) }
  }
}

extension ExportTable.Kind {
  /// Parquet's physical type: INT64 (2), DOUBLE (5), BOOLEAN (0), BYTE_ARRAY (6).
  var physicalType: Int32 {
    switch self {
    case .int: 2
    case .double: 5
    case .bool: 0
    case .string: 6
    }
  }
}

/// A struct in Thrift's compact protocol: each field a header (the id as a delta from the
/// previous one, and the type) then its value; integers as zigzag varints; a stop byte ends
/// the struct.
struct ThriftCompact {
  private(set) var bytes: [UInt8] = []
  private var lastField: Int16 = 0

  static let i32Type: UInt8 = 5, i64Type: UInt8 = 6, binaryType: UInt8 = 8, listType: UInt8 = 9
  static let structType: UInt8 = 12

  static func varint(_ value: UInt64) -> [UInt8] {
    var value = value
    var out: [UInt8] = []
    while value >= 0x80 {
      out.append(UInt8(value & 0x7F) | 0x80)
      value >>= 7
    }
    out.append(UInt8(value))
    return out
  }

  static func zigzag(_ value: Int64) -> UInt64 { UInt64(bitPattern: (value << 1) ^ (value >> 63)) }

  mutating func header(_ id: Int16, _ type: UInt8) {
    let delta = id - lastField
    if delta > 0 && delta <= 15 {
      bytes.append(UInt8(delta) << 4 | type)
    } else {
      bytes.append(type)
      bytes += Self.varint(Self.zigzag(Int64(id)))
    }
    lastField = id
  }

  mutating func i32(_ id: Int16, _ value: Int32) {
    header(id, Self.i32Type)
    bytes += Self.varint(Self.zigzag(Int64(value)))
  }

  mutating func i64(_ id: Int16, _ value: Int64) {
    header(id, Self.i64Type)
    bytes += Self.varint(Self.zigzag(value))
  }

  mutating func string(_ id: Int16, _ value: String) {
    header(id, Self.binaryType)
    let utf8 = Array(value.utf8)
    bytes += Self.varint(UInt64(utf8.count)) + utf8
  }

  mutating func listHeader(_ count: Int, _ type: UInt8) {
    if count < 15 {
      bytes.append(UInt8(count) << 4 | type)
    } else {
      bytes.append(0xF0 | type)
      bytes += Self.varint(UInt64(count))
    }
  }

  mutating func i32List(_ id: Int16, _ values: [Int32]) {
    header(id, Self.listType)
    listHeader(values.count, Self.i32Type)
    for value in values { bytes += Self.varint(Self.zigzag(Int64(value))) }
  }

  mutating func stringList(_ id: Int16, _ values: [String]) {
    header(id, Self.listType)
    listHeader(values.count, Self.binaryType)
    for value in values {
      let utf8 = Array(value.utf8)
      bytes += Self.varint(UInt64(utf8.count)) + utf8
    }
  }

  /// A nested struct: `body` writes its fields (numbered afresh); the stop byte is added.
  mutating func structure(_ id: Int16, _ body: (inout ThriftCompact) -> Void) {
    header(id, Self.structType)
    var inner = ThriftCompact()
    body(&inner)
    inner.stop()
    bytes += inner.bytes
  }

  /// A list of `count` structs, each written by `body(index, &struct)`.
  mutating func structList(_ id: Int16, count: Int, _ body: (Int, inout ThriftCompact) -> Void) {
    header(id, Self.listType)
    listHeader(count, Self.structType)
    for index in 0..<count {
      var element = ThriftCompact()
      body(index, &element)
      element.stop()
      bytes += element.bytes
    }
  }

  /// A list of structs already written (stop bytes included).
  mutating func rawStructList(_ id: Int16, _ elements: [ThriftCompact]) {
    header(id, Self.listType)
    listHeader(elements.count, Self.structType)
    for element in elements { bytes += element.bytes }
  }

  mutating func stop() { bytes.append(0) }
}
