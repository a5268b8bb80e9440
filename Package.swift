// swift-tools-version: 6.2
import PackageDescription

// Dependencies point one way: `berth` -> Config, Transport, Core; `berth-engine` -> Engine -> Core.
// BerthCore and BerthEngine import FoundationEssentials only, so the host binary stays small.
let v5: [SwiftSetting] = [.swiftLanguageMode(.v5)]

let package = Package(
    name: "Berth",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "berth", targets: ["berth"]),
        .executable(name: "berth-engine", targets: ["berth-engine"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        // No SubprocessFoundation trait: the engine must not pull in full Foundation.
        .package(url: "https://github.com/swiftlang/swift-subprocess", from: "1.0.2", traits: []),
    ],
    targets: [
        .target(name: "BerthCore", swiftSettings: v5),
        .target(name: "BerthConfig", dependencies: ["BerthCore", "Yams"], swiftSettings: v5),
        .target(name: "BerthTransport", dependencies: [
            "BerthCore", .product(name: "Subprocess", package: "swift-subprocess"),
        ], swiftSettings: v5),
        .target(name: "BerthEngine", dependencies: [
            "BerthCore", .product(name: "Subprocess", package: "swift-subprocess"),
        ], swiftSettings: v5),
        // The controller side of a deploy: packs releases, installs the engine, drives hosts in parallel.
        .target(name: "BerthControl", dependencies: ["BerthCore", "BerthConfig", "BerthTransport"],
                swiftSettings: v5),
        .executableTarget(name: "berth", dependencies: [
            "BerthCore", "BerthConfig", "BerthTransport", "BerthControl",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ], swiftSettings: v5),
        .executableTarget(name: "berth-engine", dependencies: ["BerthEngine"], swiftSettings: v5),
        .target(name: "BerthTestSupport", dependencies: ["BerthCore"], swiftSettings: v5),

        .testTarget(name: "BerthCoreTests", dependencies: ["BerthCore", "BerthTestSupport"], swiftSettings: v5),
        .testTarget(name: "BerthConfigTests", dependencies: ["BerthConfig", "BerthTestSupport"],
                    resources: [.copy("Fixtures")], swiftSettings: v5),
        .testTarget(name: "BerthEngineTests", dependencies: ["BerthEngine", "BerthTestSupport"],
                    resources: [.copy("Golden")], swiftSettings: v5),
        .testTarget(name: "BerthTransportTests", dependencies: ["BerthTransport"], swiftSettings: v5),
        .testTarget(name: "BerthCLITests", dependencies: ["BerthTestSupport"], exclude: ["Golden"], swiftSettings: v5),
        .testTarget(name: "IntegrationTests", dependencies: [
            "BerthCore", "BerthTransport", "BerthTestSupport",
        ], swiftSettings: v5),
    ]
)
