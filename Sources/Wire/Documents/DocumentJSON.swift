import Foundation

/// The JSON conventions of every reply document (status, leaderboard, history, the
/// submit/have/upload/cancel replies): sorted keys, non-finite numbers as the strings "nan",
/// "inf" and "-inf" (the `WireCodec` convention). One encoder and decoder serve every
/// document; both are thread-safe.
public enum DocumentJSON {
  static let encoder: JSONEncoder = {
    let encoder = WireCodec.encoder()
    encoder.outputFormatting = [.sortedKeys]
    return encoder
  }()
  static let decoder = WireCodec.decoder()

  /// Encodes a document. Encoding the protocol's own value types cannot fail (non-finite
  /// numbers become strings), so a failure is a programming error.
  public static func encode(_ document: some Encodable) -> [UInt8] {
    Array(try! encoder.encode(document))
  }

  /// Decodes a document; a reply that does not match its type is a thrown `DecodingError`.
  public static func decode<T: Decodable>(_ type: T.Type, from bytes: [UInt8]) throws -> T {
    try decoder.decode(T.self, from: Data(bytes))
  }
}
