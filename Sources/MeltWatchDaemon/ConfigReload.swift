import Logging
import MeltWatchConfig
import MeltWatchCore
import MeltWatchDecode
import MeltWatchDuty
import MeltWatchRules
import Metrics
import NIOConcurrencyHelpers
import ServiceLifecycle
import UnixSignals

/// A configuration reload, prepared off the hot path: validated, compared with the running
/// configuration, and compiled into what each thread switches to at one point of the stream.
struct PreparedReload: Sendable {
    var config: MeltWatchConfig
    var bytes: [UInt8]
    var hash: String
    var model: EngineModel
    var decoder: MessageDecoder
    /// Filled in by the ingest thread: the daemon clock where the reload entered the stream.
    var time = EventTime(milliseconds: 0)
}

/// What the duty API shows of the configuration in force; replaced when a reload takes effect.
struct LiveConfig: Sendable {
    var hash: String
    var plants: [(id: String, name: String)]
    var plantNames: [String: String]
    var equipmentKeys: Set<String>
    /// How many topic filters this configuration subscribes (`/readyz`, the start log line).
    var topicCount: Int

    init(_ config: MeltWatchConfig, hash: String) {
        self.hash = hash
        plants = config.plants.map { ($0.id, $0.name) }
        plantNames = Dictionary(config.plants.map { ($0.id, $0.name) }, uniquingKeysWith: { a, _ in a })
        equipmentKeys = Set(config.allEquipment.map { "\($0.plant.id):\($0.equipment.id)" })
        topicCount = config.subscriptionTopics.count
    }
}

/// SIGHUP (contract section 1): re-read the file, validate it, and swap it in atomically — or change
/// nothing and say why.
///
/// Only `plants:` changes at run time. The broker, journal and duty sections hold a connection, open
/// files and a listener; a change there refuses the whole reload (nothing half-applied) and asks
/// for a restart. An accepted reload travels the daemon's one ordered stream: the ingest thread
/// journals it (a `reload` record), switches its decoder and subscriptions and puts a marker into
/// the ring; the engine thread switches the rules at that marker. Readings decoded before it are
/// evaluated by the old rules, readings after it by the new, and `meltwatch replay` does the same
/// at the same record.
final class ConfigReloader: Sendable {
    enum Outcome: Equatable {
        case accepted(hash: String)
        case unchanged
        case invalid(String)
        case refused(String)
    }

    private struct State {
        /// The configuration the last accepted reload (or the start) settled on.
        var accepted: MeltWatchConfig
        var acceptedHash: String
        /// Prepared, not yet taken by the ingest thread.
        var pending: PreparedReload?
        /// Taken by the ingest thread, waiting for the engine thread at their marker.
        var held: [Int: PreparedReload] = [:]
        var nextTicket = 1
        var live: LiveConfig
    }

    let path: String
    private let logger: Logger
    private let state: NIOLockedValueBox<State>

    init(path: String, running config: MeltWatchConfig, hash: String, logger: Logger) {
        self.path = path
        self.logger = logger
        state = NIOLockedValueBox(State(accepted: config, acceptedHash: hash, live: LiveConfig(config, hash: hash)))
    }

    /// The configuration in force (what the duty API shows).
    var live: LiveConfig { state.withLockedValue { $0.live } }

    /// Reads and checks the file; queues an accepted reload for the ingest thread.
    @discardableResult
    func reload() -> Outcome {
        let outcome = prepare()
        let result: String
        switch outcome {
        case .accepted(let hash):
            result = "accepted"
            logger.notice("config reload accepted; switching at the next point of the stream", metadata: [
                "config.file": "\(path)", "config.hash": "\(hash)",
            ])
        case .unchanged:
            result = "unchanged"
            logger.info("config reload: the file is unchanged", metadata: ["config.file": "\(path)"])
        case .invalid(let why):
            result = "invalid"
            logger.error("config reload rejected: the file is invalid; the running configuration stays", metadata: [
                "config.file": "\(path)", "config.errors": "\(why)",
            ])
        case .refused(let why):
            result = "refused"
            logger.error("config reload refused; the running configuration stays", metadata: [
                "config.file": "\(path)", "config.reason": "\(why)",
            ])
        }
        Counter(label: "meltwatch_config_reloads_total", dimensions: [("result", result)]).increment()
        return outcome
    }

    private func prepare() -> Outcome {
        let config: MeltWatchConfig, bytes: [UInt8]
        do {
            (config, bytes) = try ConfigLoader.load(path: path)
        } catch {
            return .invalid(error.description)
        }
        let hash = Daemon.configHash(bytes)
        let running = state.withLockedValue { ($0.accepted, $0.acceptedHash) }
        if hash == running.1 { return .unchanged }
        var changed: [String] = []
        if config.broker != running.0.broker { changed.append("broker") }
        if config.journal != running.0.journal { changed.append("journal") }
        if config.duty != running.0.duty { changed.append("duty") }
        if config.shard != running.0.shard { changed.append("shard") }
        if !changed.isEmpty {
            return .refused("\(changed.joined(separator: ", ")) changed: only plants can change while running; restart meltwatch to apply the rest")
        }
        let decoder: MessageDecoder
        do {
            decoder = try Daemon.decoder(for: config)
        } catch {
            return .invalid("\(error)")
        }
        let prepared = PreparedReload(config: config, bytes: bytes, hash: hash, model: config.engineModel(configHash: hash), decoder: decoder)
        state.withLockedValue {
            $0.accepted = config
            $0.acceptedHash = hash
            $0.pending = prepared  // a later reload before the ingest thread took this one replaces it
        }
        return .accepted(hash: hash)
    }

    /// Ingest thread: the reload to journal and switch to now, with its ticket for the ring.
    func takePending(at time: EventTime) -> (ticket: Int, reload: PreparedReload)? {
        state.withLockedValue { s in
            guard var r = s.pending else { return nil }
            s.pending = nil
            r.time = time
            let ticket = s.nextTicket
            s.nextTicket += 1
            s.held[ticket] = r
            return (ticket, r)
        }
    }

    /// Engine thread: the reload behind a ring marker.
    func take(_ ticket: Int) -> PreparedReload? {
        state.withLockedValue { $0.held.removeValue(forKey: ticket) }
    }

    /// Engine thread: the reload is in force.
    func applied(_ r: PreparedReload, _ result: EngineReload) {
        state.withLockedValue { $0.live = LiveConfig(r.config, hash: r.hash) }
        logger.notice("config reloaded", metadata: [
            "config.hash": "\(r.hash)", "engine.equipment_kept": "\(result.carried.count)",
            "engine.equipment_fresh": "\(result.fresh.joined(separator: ","))",
            "engine.equipment_removed": "\(result.removed.joined(separator: ","))",
            "engine.signals": "\(r.model.signals.count)",
        ])
    }
}

/// Listens for SIGHUP for as long as the daemon runs.
struct ReloadSignalService: Service {
    let reloader: ConfigReloader
    /// The operator tokens: SIGHUP re-reads `duty.tokens_file` too (a new operator, a revoked token).
    let tokens: OperatorTokenStore
    let logger: Logger

    func run() async throws {
        for await _ in await UnixSignalsSequence(trapping: .sighup).cancelOnGracefulShutdown() {
            reloader.reload()
            switch tokens.reload() {
            case .success(let count) where tokens.path != nil:
                logger.notice("duty tokens re-read", metadata: ["duty.operators": "\(count)"])
            case .success: break
            case .failure(let error):
                logger.error("duty tokens not re-read: the tokens in force stay", metadata: ["duty.tokens_error": "\(error)"])
            }
        }
    }
}
