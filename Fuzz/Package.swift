// swift-tools-version:6.1
//
// libFuzzer targets for the stages that read hostile input (issue 8): the gateway payload decoder,
// the config loader and the journal reader. A package of its own so that the sanitizer flags and
// the entry points without `main` never reach MeltWatch's normal builds. Build and run them with
// `scripts/fuzz.sh`; by hand:
//
//   swift build --package-path Fuzz --scratch-path .build-fuzz -c release \
//       --sanitize=fuzzer --sanitize=address --product fuzz-payload
import PackageDescription

// libFuzzer supplies `main`; the targets only define `LLVMFuzzerTestOneInput`.
let fuzzSettings: [SwiftSetting] = [.unsafeFlags(["-parse-as-library"])]

let package = Package(
    name: "MeltWatchFuzz",
    platforms: [.macOS(.v14)],
    dependencies: [
        .package(name: "MeltWatch", path: ".."),
    ],
    targets: [
        .executableTarget(
            name: "fuzz-payload",
            dependencies: [
                .product(name: "MeltWatchDecode", package: "MeltWatch"), .product(name: "MeltWatchCore", package: "MeltWatch"),
            ],
            swiftSettings: fuzzSettings
        ),
        .executableTarget(
            name: "fuzz-config",
            dependencies: [
                .product(name: "MeltWatchConfig", package: "MeltWatch"), .product(name: "MeltWatchCore", package: "MeltWatch"),
                // An accepted config must build the decoder's topic table, as the daemon does at start.
                .product(name: "MeltWatchDecode", package: "MeltWatch"),
            ],
            swiftSettings: fuzzSettings
        ),
        .executableTarget(
            name: "fuzz-journal",
            dependencies: [
                .product(name: "MeltWatchJournal", package: "MeltWatch"), .product(name: "MeltWatchCore", package: "MeltWatch"),
            ],
            swiftSettings: fuzzSettings
        ),
        // The JSON gateway formats (contract section 3): kepware-iot, neuron, and json through mappings.
        .executableTarget(
            name: "fuzz-kepware",
            dependencies: [
                .product(name: "MeltWatchDecode", package: "MeltWatch"), .product(name: "MeltWatchCore", package: "MeltWatch"),
            ],
            swiftSettings: fuzzSettings
        ),
        .executableTarget(
            name: "fuzz-neuron",
            dependencies: [
                .product(name: "MeltWatchDecode", package: "MeltWatch"), .product(name: "MeltWatchCore", package: "MeltWatch"),
            ],
            swiftSettings: fuzzSettings
        ),
        .executableTarget(
            name: "fuzz-json",
            dependencies: [
                .product(name: "MeltWatchDecode", package: "MeltWatch"), .product(name: "MeltWatchCore", package: "MeltWatch"),
            ],
            swiftSettings: fuzzSettings
        ),
        // The Sparkplug B host: protobuf payloads into one long-lived session table.
        .executableTarget(
            name: "fuzz-sparkplug",
            dependencies: [
                .product(name: "MeltWatchSparkplug", package: "MeltWatch"), .product(name: "MeltWatchDecode", package: "MeltWatch"),
                .product(name: "MeltWatchCore", package: "MeltWatch"),
            ],
            swiftSettings: fuzzSettings
        ),
    ]
)
