import ArgumentParser
import Foundation
import Logging
import MeltWatchConfig
import MeltWatchDaemon
import MeltWatchRules

/// `meltwatch`: the monitoring daemon and its tools (contract section 1).
@main
struct MeltWatchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "meltwatch",
        abstract: "Monitors steel, aluminium and dust plants for major accident hazards (令10 2023) and alerts the 24-hour duty room.",
        version: meltwatchVersion,
        subcommands: [Run.self, Check.self, ReplayCommand.self, ReportCommand.self, HazardsCommand.self, JournalCommand.self, Templates.self]
    )
}

let meltwatchVersion = MeltWatchVersion.string

/// `meltwatch run --config FILE`
struct Run: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the daemon in the foreground (logs to stderr; SIGTERM/SIGINT stop it gracefully)."
    )

    @Option(name: .long, help: "The YAML configuration file.")
    var config: String

    @Option(name: .long, help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: Logger.Level = .info

    func run() async throws {
        // A supervisor may hand us a blocked signal mask (Foundation's Process does); SIGTERM must
        // always reach the graceful-shutdown handler, so unblock the signals we act on.
        var signals = sigset_t()
        sigemptyset(&signals)
        for s in [SIGTERM, SIGINT, SIGHUP] { sigaddset(&signals, s) }
        pthread_sigmask(SIG_UNBLOCK, &signals, nil)
        let level = logLevel
        LoggingSystem.bootstrap { label in
            var h = StreamLogHandler.standardError(label: label)
            h.logLevel = level
            return h
        }
        Daemon.bootstrapMetrics()
        let logger = Logger(label: "meltwatch")
        do {
            try await Daemon.run(configPath: config, logger: logger)
        } catch let error as ConfigError {
            FileHandle.standardError.write(Data((error.description + "\n").utf8))
            throw ExitCode(1)
        } catch {
            logger.critical("meltwatch cannot run", metadata: ["error": "\(error)"])
            throw ExitCode(1)
        }
    }
}

/// `meltwatch check --config FILE`
struct Check: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Validate a configuration without connecting to anything; one FILE:LINE:COL: message per problem."
    )

    @Option(name: .long, help: "The YAML configuration file.")
    var config: String

    func run() throws {
        do {
            let (cfg, _) = try ConfigLoader.load(path: config)
            let equipment = cfg.allEquipment.count
            let gateways = cfg.plants.flatMap { p in p.gateways.map { "\(p.id) \($0.formatName) \($0.filter)" } }
            print("\(config): ok — \(cfg.plants.count) plant(s), \(equipment) equipment, \(cfg.signals.count) signals, \(cfg.subscriptionTopics.count) topics"
                + (gateways.isEmpty ? "" : "; gateway formats: " + gateways.joined(separator: ", ")))
            for (plant, eq) in cfg.allEquipment {
                let placeholders = eq.placeholderParams
                if !placeholders.isEmpty {
                    print("\(config): note: \(plant.id)/\(eq.id) uses placeholder defaults for site settings: "
                        + placeholders.map { "\($0.name)=\(eq.params[$0.name]!)" }.joined(separator: ", "))
                }
            }
        } catch {
            FileHandle.standardError.write(Data((error.description + "\n").utf8))
            throw ExitCode(1)
        }
    }
}

/// `meltwatch templates`
struct Templates: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print the equipment template reference (roles, params with units and defaults, rules with their basis) as Markdown."
    )

    func run() {
        print(TemplateCatalog.referenceMarkdown(), terminator: "")
    }
}

extension Logger.Level: @retroactive ExpressibleByArgument {}
