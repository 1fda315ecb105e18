// swift-tools-version:6.0
import Foundation
import PackageDescription

/// Native vector code. The training kernels (optimizer updates, activations) are written
/// with explicit 8-wide SIMD lanes; compiled for AVX2 + FMA they run twice as fast as for
/// the x86-64 baseline (SSE2). When the building machine has AVX2, the Training module is
/// compiled for it, like `-march=native`, and the binary checks at start that the CPU it
/// runs on has AVX2 too (a clear error instead of SIGILL). `SWEEPD_PORTABLE=1` at build
/// time gives a baseline binary to copy to other machines. BLAS picks its kernels at run
/// time either way.
let nativeAVX2: Bool = {
  #if os(Linux) && arch(x86_64)
    if let portable = ProcessInfo.processInfo.environment["SWEEPD_PORTABLE"], portable != "0" { return false }
    guard let cpuinfo = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
      let flagsLine = cpuinfo.split(separator: "\n").first(where: { $0.hasPrefix("flags") })
    else { return false }
    let flags = Set(flagsLine.split(separator: " ").map(String.init))
    return flags.contains("avx2") && flags.contains("fma")
  #else
    return false
  #endif
}()
let nativeSwiftSettings: [SwiftSetting] = nativeAVX2 ? [.unsafeFlags(["-target-cpu", "haswell"])] : []
let nativeCSettings: [CSetting] = nativeAVX2 ? [.define("SWEEPD_BUILT_FOR_AVX2", to: "1")] : []

let package = Package(
  name: "sweepd",
  platforms: [.macOS(.v15)],
  products: [
    .executable(name: "sweepd", targets: ["sweepd"]),
    .library(name: "Training", targets: ["Training"]),
  ],
  dependencies: [
    .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
    .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
    .package(url: "https://github.com/groue/GRDB.swift", from: "7.0.0"),
    .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
    .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.0"),
    // Hummingbird's own transport: a channel handler caps the dashboard's connections.
    .package(url: "https://github.com/apple/swift-nio", from: "2.81.0"),
  ],
  targets: [
    // System libraries (Debian packages installed by scripts/setup).
    .systemLibrary(
      name: "COpenBLAS", pkgConfig: "openblas", providers: [.apt(["libopenblas-dev"])]),
    .systemLibrary(name: "CZeroMQ", providers: [.apt(["libzmq3-dev"])]),
    .systemLibrary(name: "CZlib", providers: [.apt(["zlib1g-dev"])]),

    .target(name: "CVectorMath", cSettings: nativeCSettings),
    // The project's shared words: config values, metric names and goals, trial states,
    // number formatting and did-you-mean. No dependencies.
    .target(name: "Vocabulary"),
    .target(
      name: "Training",
      dependencies: ["COpenBLAS", "CZlib", "CVectorMath", "Vocabulary"],
      resources: [.copy("Resources/digits.csv.gz"), .copy("Resources/DIGITS-LICENSE.md")],
      swiftSettings: nativeSwiftSettings
    ),
    .target(name: "ZMQ", dependencies: ["CZeroMQ"]),
    // The protocol: messages, their codec, and the reply documents (status, leaderboard,
    // history, …) as Codable value types. Trial specs cross it as opaque JSON.
    .target(name: "Wire", dependencies: ["Vocabulary"]),
    // The client side of the protocol: one connection, typed requests and replies.
    .target(name: "Client", dependencies: ["Wire", "ZMQ"]),
    .target(
      name: "Store", dependencies: ["Vocabulary", .product(name: "GRDB", package: "GRDB.swift")]),
    // Users' own training programs as trials: their command lines, built as W&B's agent
    // builds them, with values written as Python writes them.
    .target(name: "Programs", dependencies: ["Vocabulary", "CProcessGroup"]),
    // Starting a program in its own process group under a supervisor that kills the group
    // when the program ends or the worker dies (see spawn.c for why not posix_spawn).
    .target(name: "CProcessGroup"),
    // Early-stopping rules (plateau, median, ASHA, Hyperband): pure decisions over curves.
    .target(name: "Stopping", dependencies: ["Vocabulary"]),
    .target(
      name: "Coordinator",
      dependencies: [
        "Wire", "ZMQ", "Store", "Search", "Stopping", "Vocabulary", "DataTransfer", "Client",
        .product(name: "Logging", package: "swift-log"),
      ]
    ),
    .target(name: "Report", dependencies: ["Search", "Wire", "Vocabulary", "Programs"]),
    // The live dashboard: web pages and a JSON API served by the coordinator (Hummingbird).
    .target(
      name: "Dashboard",
      dependencies: [
        "Coordinator", "Report", "Wire", "Store", "Search", "Vocabulary",
        .product(name: "Hummingbird", package: "hummingbird"),
        .product(name: "NIOCore", package: "swift-nio"),
        .product(name: "Crypto", package: "swift-crypto"),
        .product(name: "Logging", package: "swift-log"),
      ]),
    // Data sets that travel with a sweep: SHA-256 content addresses (swift-crypto), the
    // coordinator's content store, the client's upload and the worker's fetch and cache.
    .target(
      name: "DataTransfer",
      dependencies: ["Wire", "Client", "ZMQ", "Training", .product(name: "Crypto", package: "swift-crypto")]),
    .target(
      name: "Worker",
      dependencies: [
        "Wire", "Client", "ZMQ", "Training", "Vocabulary", "DataTransfer", "Programs",
        .product(name: "Logging", package: "swift-log"),
      ],
      // The `wandb` module program trials import, compiled into the binary (no bundle to
      // install next to it).
      resources: [.embedInCode("Shim/wandb.py")]),
    .target(
      name: "Search",
      dependencies: [
        "Training", "Stopping", "Vocabulary", "Programs", .product(name: "Yams", package: "Yams"),
      ]
    ),
    .executableTarget(
      name: "sweepd",
      dependencies: [
        "Training", "Search", "ZMQ", "Wire", "Client", "Store", "Coordinator", "Worker", "Report", "Dashboard",
        "DataTransfer", "Stopping", "Vocabulary", "Programs",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
        .product(name: "Logging", package: "swift-log"),
        .product(name: "Yams", package: "Yams"),
      ]
    ),
    .testTarget(
      name: "TrainingTests",
      dependencies: ["Training"],
      resources: [.copy("Fixtures")]
    ),
    .testTarget(name: "ZMQTests", dependencies: ["ZMQ", "CZeroMQ"]),
    .testTarget(name: "ProgramsTests", dependencies: ["Programs", "Vocabulary"]),
    .testTarget(name: "WireTests", dependencies: ["Wire", "Client", "Vocabulary", "Training"]),
    .testTarget(name: "StoreTests", dependencies: ["Store"]),
    .testTarget(
      name: "CoordinatorTests",
      dependencies: ["Coordinator", "Wire", "Store", "ZMQ", "Search", "Stopping", "Vocabulary"]),
    .testTarget(
      name: "ReportTests", dependencies: ["Report", "Search", "Wire", "Vocabulary"],
      resources: [.copy("Fixtures")]),
    .testTarget(
      name: "DataTransferTests", dependencies: ["DataTransfer", "Client", "Wire", "ZMQ", "Training"]),
    .testTarget(name: "WorkerTests", dependencies: ["Worker", "Wire"]),
    .testTarget(
      name: "SearchTests",
      dependencies: ["Search", "Stopping", "Training", "Vocabulary"],
      resources: [.copy("Fixtures")]
    ),
    .testTarget(
      name: "EndToEndTests",
      dependencies: ["Training", "Store"]
    ),
  ]
)
