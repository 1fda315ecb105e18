import Search
import Wire

extension SweepHistory {
  /// The sweep's spec, parsed from its config (nil if it no longer parses, e.g. after a
  /// format change; the report then treats every parameter as linear or categorical).
  public var spec: SweepSpec? { try? SweepConfig.parse(text: config, file: file, dataDigests: dataDigests) }
}
