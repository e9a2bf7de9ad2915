// swift-tools-version:6.1
//
// MeltWatch: the folders are the pipeline.
//   gateway message -> MeltWatchMQTT -> MeltWatchDecode -> MeltWatchRing -> MeltWatchRules (engine)
//   -> MeltWatchAlarms -> duty room (webhooks, MeltWatchDuty); MeltWatchReport renders the audit report
// MeltWatchDaemon composes them; `meltwatch` and `meltwatch-sim` are thin executables.
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
]

let package = Package(
    name: "MeltWatch",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "meltwatch", targets: ["meltwatch"]),
        .executable(name: "meltwatch-sim", targets: ["meltwatch-sim"]),
        .executable(name: "meltwatch-bench", targets: ["meltwatch-bench"]),
        // The stages that read hostile input, for the libFuzzer package in Fuzz/ (it builds them with
        // sanitizer flags in its own scratch path, so this package's builds stay as they are).
        .library(name: "MeltWatchCore", targets: ["MeltWatchCore"]),
        .library(name: "MeltWatchDecode", targets: ["MeltWatchDecode"]),
        .library(name: "MeltWatchSparkplug", targets: ["MeltWatchSparkplug"]),
        .library(name: "MeltWatchConfig", targets: ["MeltWatchConfig"]),
        .library(name: "MeltWatchJournal", targets: ["MeltWatchJournal"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-atomics.git", from: "1.3.0"),
        // NIOConcurrencyHelpers only: a lock on pthread_mutex, which ThreadSanitizer sees (it does
        // not see the futex inside the standard library's Synchronization.Mutex on Linux, and
        // reports every access under one as a race).
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "3.12.3"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "5.0.1"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        // Sparkplug B payloads. Only the runtime: the generated code is committed (Sources/MeltWatchSparkplug),
        // so no build here compiles protoc's plugin.
        .package(url: "https://github.com/apple/swift-protobuf.git", from: "1.39.0"),
        // The hazard records: SQLite (Debian's libsqlite3) through GRDB, WAL and migrations.
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
    ],
    targets: [
        // libmosquitto, the system C library. Only MeltWatchMQTT imports it.
        .systemLibrary(
            name: "CMosquitto",
            pkgConfig: "libmosquitto",
            providers: [.apt(["libmosquitto-dev"])]
        ),

        // zlib, the system C library: checkpoints are stored compressed. Only MeltWatchDaemon imports it.
        .systemLibrary(
            name: "CZlib",
            pkgConfig: "zlib",
            providers: [.apt(["zlib1g-dev"])]
        ),

        // Value types shared by every stage: readings, event time, alarm events. No I/O.
        .target(name: "MeltWatchCore", swiftSettings: swiftSettings),

        // Strict gateway payload decoding (contract section 3) and topic routing.
        .target(name: "MeltWatchDecode", dependencies: ["MeltWatchCore"], swiftSettings: swiftSettings),

        // Sparkplug B (Eclipse Sparkplug 3.0) as a host application: the payload codec and the
        // per-edge-node sessions (births, aliases, sequence numbers, deaths) as a gateway format.
        .target(
            name: "MeltWatchSparkplug",
            dependencies: ["MeltWatchCore", "MeltWatchDecode", .product(name: "SwiftProtobuf", package: "swift-protobuf")],
            exclude: ["sparkplug_b.proto"],
            swiftSettings: swiftSettings
        ),

        // The lock-free single-producer/single-consumer ring between ingest and engine.
        .target(
            name: "MeltWatchRing",
            dependencies: [.product(name: "Atomics", package: "swift-atomics")],
            swiftSettings: swiftSettings
        ),

        // The journal: every message as received, durable before it is acknowledged; ticks and
        // config snapshots for deterministic replay.
        .target(name: "MeltWatchJournal", dependencies: ["MeltWatchCore", "CCRC32C"], swiftSettings: swiftSettings),
        // CRC-32C with the CPU's CRC32 instruction (C: Swift cannot emit it); the journal falls back
        // to its software table where the CPU lacks it.
        .target(name: "CCRC32C"),

        // Templates, rule state machines and the engine that runs them on event time.
        .target(name: "MeltWatchRules", dependencies: ["MeltWatchCore"], swiftSettings: swiftSettings),

        // The Swift face of libmosquitto; knows nothing about plants.
        .target(name: "MeltWatchMQTT", dependencies: ["CMosquitto", .product(name: "NIOConcurrencyHelpers", package: "swift-nio")], swiftSettings: swiftSettings),

        // YAML configuration (contract section 2) with FILE:LINE:COL diagnostics.
        .target(
            name: "MeltWatchConfig",
            dependencies: ["MeltWatchCore", "MeltWatchDecode", "MeltWatchRules", .product(name: "Yams", package: "Yams")],
            swiftSettings: swiftSettings
        ),

        // The alarm lifecycle (ISA-18.2), the durable outbox and at-least-once delivery (signed webhooks).
        .target(
            name: "MeltWatchAlarms",
            dependencies: [
                "MeltWatchCore", "MeltWatchJournal",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),

        // The duty room's HTTP API (contract §5), Server-Sent Events, metrics and the console page.
        .target(
            name: "MeltWatchDuty",
            dependencies: [
                "MeltWatchCore", "MeltWatchAlarms", "MeltWatchHazards",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
            ],
            // The console: real files, linted by scripts/lint-console.py, compiled into the binary.
            resources: [.embedInCode("Console/console.html"), .embedInCode("Console/console.css"), .embedInCode("Console/console.js")],
            swiftSettings: swiftSettings
        ),

        // Hazard records (隐患, contract §7): the pure desk that opens them from the alarm stream and
        // takes the duty room's steps, their JSON. No I/O: the daemon and replay run the same desk.
        .target(name: "MeltWatchHazards", dependencies: ["MeltWatchCore"], swiftSettings: swiftSettings),

        // The hazard records on disk: SQLite (Debian's libsqlite3) through GRDB, WAL, migrations.
        .target(
            name: "MeltWatchHazardStore",
            dependencies: ["MeltWatchCore", "MeltWatchHazards", .product(name: "GRDB", package: "GRDB.swift")],
            swiftSettings: swiftSettings
        ),

        // The audit report (contract section 6): ledger, interlock latency, availability, alarm load,
        // rendered as HTML with inline SVG charts, CSV and JSON. Pure: fed an in-memory AuditInput.
        .target(name: "MeltWatchReport", dependencies: ["MeltWatchCore", "MeltWatchHazards"], swiftSettings: swiftSettings),

        // Composition root: config -> ingest thread -> ring -> engine thread -> alarms.
        .target(
            name: "MeltWatchDaemon",
            dependencies: [
                "CZlib", "MeltWatchCore", "MeltWatchDecode", "MeltWatchRing", "MeltWatchRules", "MeltWatchJournal",
                "MeltWatchMQTT", "MeltWatchConfig", "MeltWatchAlarms", "MeltWatchDuty", "MeltWatchReport", "MeltWatchSparkplug",
                "MeltWatchHazards", "MeltWatchHazardStore",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),

        .executableTarget(
            name: "meltwatch",
            dependencies: [
                "MeltWatchDaemon", "MeltWatchConfig", "MeltWatchRules", "MeltWatchJournal", "MeltWatchReport",
                "MeltWatchHazards", "MeltWatchHazardStore",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),

        // Scenarios as specifications: scripted faults, the settings they need, the alarms they must
        // cause. A library so the simulator plays them and the tests check the engine and daemon against them.
        .target(
            name: "MeltWatchScenarios",
            dependencies: ["MeltWatchCore", "MeltWatchRules", "MeltWatchConfig"],
            path: "Simulators/MeltWatchScenarios",
            swiftSettings: swiftSettings
        ),

        .executableTarget(
            name: "meltwatch-sim",
            dependencies: [
                "MeltWatchCore", "MeltWatchMQTT", "MeltWatchConfig", "MeltWatchScenarios", "MeltWatchSparkplug",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Simulators/meltwatch-sim",
            swiftSettings: swiftSettings
        ),

        // Benchmarks: a release-built executable that reports figures; never timed assertions in tests.
        .executableTarget(
            name: "meltwatch-bench",
            dependencies: ["MeltWatchCore", "MeltWatchDecode", "MeltWatchRing", "MeltWatchRules", "MeltWatchJournal", "MeltWatchAlarms", "MeltWatchSparkplug"],
            path: "Benchmarks/meltwatch-bench",
            swiftSettings: swiftSettings
        ),

        // Shared test helpers: a real mosquitto launcher, a real HTTP receiver, free ports.
        .target(
            name: "MeltWatchTestKit",
            dependencies: [
                "MeltWatchCore",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Tests/MeltWatchTestKit",
            swiftSettings: swiftSettings
        ),

        .testTarget(name: "MeltWatchCoreTests", dependencies: ["MeltWatchCore"], swiftSettings: swiftSettings),
        .testTarget(name: "MeltWatchDecodeTests", dependencies: ["MeltWatchDecode"], swiftSettings: swiftSettings),
        .testTarget(name: "MeltWatchSparkplugTests", dependencies: ["MeltWatchSparkplug", "MeltWatchDecode", "MeltWatchCore"], swiftSettings: swiftSettings),
        .testTarget(name: "MeltWatchRingTests", dependencies: ["MeltWatchRing"], swiftSettings: swiftSettings),
        .testTarget(name: "MeltWatchRulesTests", dependencies: ["MeltWatchRules"], swiftSettings: swiftSettings),
        .testTarget(name: "MeltWatchJournalTests", dependencies: ["MeltWatchJournal", .product(name: "NIOConcurrencyHelpers", package: "swift-nio")], swiftSettings: swiftSettings),
        .testTarget(name: "MeltWatchHazardsTests", dependencies: ["MeltWatchHazards", "MeltWatchHazardStore", "MeltWatchCore"], swiftSettings: swiftSettings),
        .testTarget(name: "MeltWatchConfigTests", dependencies: ["MeltWatchConfig"], swiftSettings: swiftSettings),
        // Includes a headless-Chromium screenshot of the HTML report (skipped when chromium is absent).
        .testTarget(
            name: "MeltWatchReportTests",
            dependencies: ["MeltWatchReport", "MeltWatchHazards", "MeltWatchCore"],
            swiftSettings: swiftSettings
        ),
        // Every scenario through the decoder and the engine, no broker: fast and exact to the millisecond.
        .testTarget(
            name: "MeltWatchScenariosTests",
            dependencies: ["MeltWatchScenarios", "MeltWatchConfig", "MeltWatchDecode", "MeltWatchRules", "MeltWatchAlarms", "MeltWatchHazards", "MeltWatchCore"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "MeltWatchMQTTTests",
            dependencies: ["MeltWatchMQTT", "MeltWatchTestKit", .product(name: "NIOConcurrencyHelpers", package: "swift-nio")],
            swiftSettings: swiftSettings
        ),
        // The duty API's router through Hummingbird's test client and a fake backend: no daemon.
        .testTarget(
            name: "MeltWatchDutyTests",
            dependencies: [
                "MeltWatchDuty", "MeltWatchAlarms", "MeltWatchCore", "MeltWatchTestKit",
                .product(name: "HummingbirdTesting", package: "hummingbird"), .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "MeltWatchAlarmsTests",
            dependencies: [
                "MeltWatchAlarms", "MeltWatchJournal", "MeltWatchTestKit",
                .product(name: "Logging", package: "swift-log"), .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        // End to end: real mosquitto, the real `meltwatch` binary, a real HTTP receiver.
        .testTarget(
            name: "MeltWatchIntegrationTests",
            dependencies: [
                "MeltWatchTestKit", "MeltWatchMQTT", "MeltWatchAlarms", "MeltWatchScenarios", "MeltWatchCore", "MeltWatchJournal",
                "meltwatch", "meltwatch-sim",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: swiftSettings
        ),
    ]
)
