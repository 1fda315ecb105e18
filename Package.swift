// swift-tools-version:6.0
import PackageDescription

let package = Package(
  name: "sweepd",
  platforms: [.macOS(.v13)],
  products: [
    .executable(name: "sweepd", targets: ["sweepd"]),
    .library(name: "Training", targets: ["Training"]),
  ],
  dependencies: [
    .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
    .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
  ],
  targets: [
    // System libraries (Debian packages installed by scripts/setup).
    .systemLibrary(
      name: "COpenBLAS", pkgConfig: "openblas", providers: [.apt(["libopenblas-dev"])]),
    .systemLibrary(name: "CZeroMQ", providers: [.apt(["libzmq3-dev"])]),
    .systemLibrary(name: "CZlib", providers: [.apt(["zlib1g-dev"])]),

    .target(name: "CVectorMath"),
    .target(
      name: "Training",
      dependencies: ["COpenBLAS", "CZlib", "CVectorMath"],
      resources: [.copy("Resources/digits.csv.gz"), .copy("Resources/DIGITS-LICENSE.md")]
    ),
    .executableTarget(
      name: "sweepd",
      dependencies: [
        "Training", "CZeroMQ",
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
    .testTarget(
      name: "EndToEndTests",
      dependencies: ["Training"]
    ),
  ]
)
