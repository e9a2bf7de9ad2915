import MeltWatchAlarms
import MeltWatchConfig
import MeltWatchCore
import MeltWatchDecode
import MeltWatchHazards
import MeltWatchJournal
import MeltWatchRules

/// The journal's records through the decoder, the engine and the alarm book, as the live daemon
/// processed them: what `replay` and recovery at start both run, so they make the daemon's events.
///
/// A `config` record is a fresh start (a new engine, then the book its `alarmState` record holds);
/// a `reload` switches the rules at its point; actions and ticks apply where they were journaled;
/// `checkpoint` and `outbox` records change nothing (a checkpoint is state the stream already has).
final class JournalStream {
    /// What a configuration record starts: its decoder, model and alarm-book settings.
    struct Configured {
        var decoder: MessageDecoder
        var model: EngineModel
        var settings: AlarmBook.Settings
        /// The hazard desk's durations (`hazards:`).
        var hazards = HazardDesk.Settings()
    }

    private(set) var stage: AlarmStage
    private(set) var decoder: MessageDecoder
    private(set) var settings: AlarmBook.Settings
    /// The configuration in force at this point of the stream (for the next checkpoint).
    private(set) var configBytes: [UInt8]
    /// Builds what a `config` (fresh start) or `reload` record names.
    private let configure: (_ hash: String, _ text: [UInt8], _ position: JournalPosition, _ isReload: Bool) throws -> Configured
    /// Builds an engine for a model (replay attaches its observers here).
    private let makeEngine: (EngineModel) -> Engine
    /// Every reading decoded, with the model it was evaluated by.
    var onReading: ((Reading, EngineModel) -> Void)?
    private var readings: [Reading] = []
    /// The receive time of the last arrival put into the stream; nil after any other record.
    private var lastArrival: EventTime?
    /// Effects of the gateway formats: a loss goes to the engine; a command is the live daemon's
    /// business (replay publishes nothing).
    private var effects = GatewayEffects()

    init(stage: AlarmStage, decoder: MessageDecoder, settings: AlarmBook.Settings, configBytes: [UInt8],
         configure: @escaping (String, [UInt8], JournalPosition, Bool) throws -> Configured,
         makeEngine: @escaping (EngineModel) -> Engine = { Engine(model: $0) }) {
        self.stage = stage
        self.decoder = decoder
        self.settings = settings
        self.configBytes = configBytes
        self.configure = configure
        self.makeEngine = makeEngine
    }

    /// Starts over with `stage` (a checkpoint that failed to restore half-way).
    func reset(_ fresh: AlarmStage) { stage = fresh }

    /// A fresh stage for `configured` with an empty book.
    static func freshStage(_ configured: Configured, makeEngine: (EngineModel) -> Engine = { Engine(model: $0) }) -> AlarmStage {
        AlarmStage(engine: makeEngine(configured.model), book: AlarmBook(settings: configured.settings),
                   hazards: HazardDesk(settings: configured.hazards))
    }

    /// Applies one record; its events (and alarm states) are then in ``AlarmStage/take()``.
    func apply(_ record: JournalRecordView, at position: JournalPosition) throws {
        if case .message(let receivedAt, _, _, _) = record {
            // The live daemon put an arrival ahead of each batch's readings, at the batch's receive
            // time; a batch's messages share it, and a record between batches starts a new one.
            if receivedAt != lastArrival {
                stage.process(.arrival(receivedAt))
                lastArrival = receivedAt
            }
        } else {
            lastArrival = nil
        }
        switch record {
        case .config(_, let hash, let text):
            let configured = try configure(String(decoding: hash, as: UTF8.self), Array(text), position, false)
            (decoder, settings, configBytes) = (configured.decoder, configured.settings, Array(text))
            // The hazard records go on across a start: they are the plant's, not the process's.
            var hazards = stage.hazards
            hazards.settings = configured.hazards
            stage = AlarmStage(engine: makeEngine(configured.model), book: AlarmBook(settings: settings), hazards: hazards)
        case .reload(let time, let hash, let text):
            // The daemon switched to the configuration it recorded, at this point of the stream.
            let configured = try configure(String(decoding: hash, as: UTF8.self), Array(text), position, true)
            // As the live daemon did: the gateways' sessions go on across the reload.
            try? configured.decoder.adoptState(from: decoder)
            (decoder, configBytes) = (configured.decoder, Array(text))
            stage.reload(configured.model, at: time)
        case .alarmState(let time, let data):
            guard let snapshot = Outbox.decodeSnapshot(Array(data)) else {
                throw DaemonError(description: "\(position): unreadable alarm state record")
            }
            stage = AlarmStage(engine: makeEngine(stage.engine.model), book: AlarmBook(settings: settings, snapshot: snapshot), hazards: stage.hazards)
            stage.resume(at: time)
        case .action(let time, let data):
            guard let action = AlarmAction(encoded: Array(data)) else {
                throw DaemonError(description: "\(position): unreadable alarm action record")
            }
            _ = stage.perform(action, at: time)
        case .tick(let now):
            decoder.tick(now: now, effects: &effects)
            effects.removeAll()
            stage.process(.tick(now))
        case .link(let time, let up):
            stage.process(.link(up: up, at: time))
        case .clockStep(_, let delta):
            stage.process(.clockStep(delta))
        case .message(let receivedAt, _, let topic, let payload):
            readings.removeAll(keepingCapacity: true)
            if case .success = decoder.decode(topicBytes: topic, payload: payload, now: receivedAt, into: &readings, effects: &effects) {
                for r in readings {
                    stage.process(.reading(r))
                    onReading?(r, stage.engine.model)
                }
            }
            if !effects.isEmpty {
                for loss in effects.losses { stage.process(.lost(loss)) }
                effects.removeAll()
            }
        case .gatewayState(_, let data):
            // The live decoder's state at this point; equal to what this stream's decoder holds when
            // it read the journal from a start, and the whole of it when it begins here (a checkpoint).
            do {
                try decoder.restoreState(data)
            } catch {
                throw DaemonError(description: "\(position): unreadable gateway state record: \(error)")
            }
        case .outbox, .checkpoint:
            break
        }
    }
}
