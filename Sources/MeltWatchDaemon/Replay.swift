#if canImport(Glibc)
import Glibc
#endif
import MeltWatchConfig
import MeltWatchCore
import MeltWatchDecode
import MeltWatchJournal
import MeltWatchRules

/// `meltwatch replay`: the journal through the same decoder and engine as the live daemon.
///
/// The live daemon journals every message with the clock it decoded it by, and every tick before the
/// engine sees it; each start records the config. Replay feeds the same records in the same order
/// to a fresh engine at each recorded start (a restart begins with empty alarm state, as live), so
/// it prints the events the daemon emitted, byte for byte once `emitted_at` is removed (replay sets
/// it to the time of the record that caused the event).
public enum Replay {
    /// What a replay did.
    public struct Summary: Sendable {
        public var records = 0
        public var messages = 0
        public var events = 0
        /// Daemon starts found in the journal whose config differs from `--config`.
        public var configMismatches: [String] = []
    }

    /// Replays `journalDirectory` with the config at `configPath`, writing one JSON line per alarm
    /// event with an event caused by a record whose time lies in `[from, to]`. Records before `from`
    /// are still replayed (from the daemon start before it) so the engine's state is as it was live.
    public static func run(configPath: String, journalDirectory: String, from: EventTime?, to: EventTime?,
                           progress: ((Int) -> Void)? = nil, write: @escaping (String) -> Void) throws -> Summary {
        try run(configPath: configPath, journalDirectory: journalDirectory, from: from, to: to, progress: progress,
                observer: Observer(event: { event, time in write(event.jsonBody(emittedAt: time)) }))
    }

    /// What a replay reports besides the summary: events (with the time of the record that caused
    /// them), interlock outcomes and readings, for the audit report.
    public struct Observer {
        public var event: (AlarmEvent, EventTime) -> Void
        public var interlockOutcome: ((InterlockOutcome) -> Void)?
        public var reading: ((Reading, EngineModel) -> Void)?
        /// The time of every record replayed (for the period a report covers).
        public var record: ((EventTime) -> Void)?

        public init(event: @escaping (AlarmEvent, EventTime) -> Void, interlockOutcome: ((InterlockOutcome) -> Void)? = nil,
                    reading: ((Reading, EngineModel) -> Void)? = nil, record: ((EventTime) -> Void)? = nil) {
            self.event = event
            self.interlockOutcome = interlockOutcome
            self.reading = reading
            self.record = record
        }
    }

    /// ``run(configPath:journalDirectory:from:to:progress:write:)`` reporting to `observer`.
    public static func run(configPath: String, journalDirectory: String, from: EventTime?, to: EventTime?,
                           progress: ((Int) -> Void)? = nil, observer: Observer) throws -> Summary {
        let (config, bytes) = try ConfigLoader.load(path: configPath)
        let hash = Daemon.configHash(bytes)
        var topics = TopicTable()
        for s in config.signals { try topics.addSignal(topic: s.topic, signal: s.id) }
        for e in config.equipmentTopics { try topics.addEquipment(topic: e.topic, roles: e.roles) }
        let decoder = PayloadDecoder(topics: topics)
        let model = config.engineModel(configHash: hash)

        // The last daemon start at or before `from`: state is rebuilt from there.
        var startAt: JournalPosition?
        let reader = JournalReader(directory: journalDirectory)
        if let from {
            try reader.forEachView(to: from) { position, record in
                if case .config = record { startAt = position }
            }
        }

        var summary = Summary()
        var recordInWindow = false
        let outcomes = observer.interlockOutcome
        func freshEngine() -> Engine {
            let e = Engine(model: model)
            if let outcomes { e.onInterlockOutcome = { if recordInWindow { outcomes($0) } } }
            return e
        }
        var engine = freshEngine()
        var readings: [Reading] = []
        try reader.forEachView { position, record in
            if let startAt, position < startAt { return }
            summary.records += 1
            if summary.records % 100_000 == 0 { progress?(summary.records) }
            let t = record.time
            let inWindow = (from.map { t >= $0 } ?? true) && (to.map { t <= $0 } ?? true)
            recordInWindow = inWindow
            if inWindow { observer.record?(t) }
            let emit: (AlarmEvent) -> Void = { event in
                guard inWindow else { return }
                summary.events += 1
                observer.event(event, t)
            }
            switch record {
            case .config(_, let recordedHash, _):
                let recorded = String(decoding: recordedHash, as: UTF8.self)
                if recorded != hash { summary.configMismatches.append("\(position): \(recorded)") }
                engine = freshEngine()
            case .tick(let now):
                engine.process(.tick(now), emit: emit)
            case .message(let receivedAt, _, let topic, let payload):
                summary.messages += 1
                readings.removeAll(keepingCapacity: true)
                if case .success = decoder.decode(topicBytes: topic, payload: payload, now: receivedAt, into: &readings) {
                    for r in readings {
                        engine.process(.reading(r), emit: emit)
                        if inWindow { observer.reading?(r, model) }
                    }
                }
            }
        }
        return summary
    }
}
