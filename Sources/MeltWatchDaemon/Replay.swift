#if canImport(Glibc)
import Glibc
#endif
import MeltWatchAlarms
import MeltWatchConfig
import MeltWatchCore
import MeltWatchDecode
import MeltWatchHazards
import MeltWatchJournal
import MeltWatchRules

/// `meltwatch replay`: the journal through the same decoder and engine as the live daemon.
///
/// The live daemon journals every message with the clock it decoded it by, every tick before the
/// engine sees it, and every alarm action (acknowledgements, shelves, its own alarms) at the point
/// the engine thread applied it; each start records the config and the alarm book it resumed.
/// Replay feeds the same records in the same order through the same ``AlarmStage`` — a fresh engine
/// and the recorded book at each start, as live — so it prints the events the daemon emitted, byte
/// for byte once `emitted_at` is removed (replay sets it to the time of the record that caused it).
public enum Replay {
    /// What a replay did.
    public struct Summary: Sendable {
        public var records = 0
        public var messages = 0
        public var events = 0
        /// The hazard records opened by records in the window, in order (ids).
        public var hazardsOpened: [String] = []
        /// Hazard events (`meltwatch.hazard/1`) caused in the window.
        public var hazardEvents = 0
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

    /// Replays like ``run(configPath:journalDirectory:from:to:progress:write:)`` and writes the hazard
    /// records' events (`meltwatch.hazard/1`, one JSON line each) instead of the alarm events: the
    /// hazards the daemon opened, and their steps, in that period.
    public static func hazards(configPath: String, journalDirectory: String, from: EventTime?, to: EventTime?,
                               progress: ((Int) -> Void)? = nil, write: @escaping (String) -> Void) throws -> Summary {
        var observer = Observer(event: { _, _ in })
        observer.hazard = { notice, _ in write(notice.body) }
        return try run(configPath: configPath, journalDirectory: journalDirectory, from: from, to: to, progress: progress, observer: observer)
    }

    /// What a replay reports besides the summary: events (with the time of the record that caused
    /// them), interlock outcomes and readings, for the audit report.
    public struct Observer {
        public var event: (AlarmEvent, EventTime) -> Void
        public var interlockOutcome: ((InterlockOutcome) -> Void)?
        /// Every change of an audited setpoint (domain.md "Setpoint audit").
        public var setpointChange: ((SetpointChange) -> Void)?
        public var reading: ((Reading, EngineModel) -> Void)?
        /// The time of every record replayed (for the period a report covers).
        public var record: ((EventTime) -> Void)?
        /// Every hazard record's event (`meltwatch.hazard/1`), with the time of the record that caused it.
        public var hazard: ((HazardNotice, EventTime) -> Void)?
        /// Every hazard record as it stands after each change, whatever the window (the last wins).
        public var hazardRecord: ((Hazard) -> Void)?

        public init(event: @escaping (AlarmEvent, EventTime) -> Void, interlockOutcome: ((InterlockOutcome) -> Void)? = nil,
                    setpointChange: ((SetpointChange) -> Void)? = nil,
                    reading: ((Reading, EngineModel) -> Void)? = nil, record: ((EventTime) -> Void)? = nil) {
            self.event = event
            self.interlockOutcome = interlockOutcome
            self.setpointChange = setpointChange
            self.reading = reading
            self.record = record
        }
    }

    /// ``run(configPath:journalDirectory:from:to:progress:write:)`` reporting to `observer`.
    public static func run(configPath: String, journalDirectory: String, from: EventTime?, to: EventTime?,
                           progress: ((Int) -> Void)? = nil, observer: Observer) throws -> Summary {
        let (config, bytes) = try ConfigLoader.load(path: configPath)
        let hash = Daemon.configHash(bytes)
        let startDecoder = try Daemon.decoder(for: config), startModel = config.engineModel(configHash: hash)

        // The last daemon start or checkpoint (of this config) at or before `from`: state is rebuilt
        // from there — a checkpoint's state is the stream's up to its position, so replay resumes
        // there instead of from a start that may lie months back.
        var startAt: JournalPosition?
        var checkpoint: (state: JournalPosition, json: [UInt8])?
        let reader = JournalReader(directory: journalDirectory)
        if let from {
            var assembler = CheckpointAssembler()
            try reader.forEachView(to: from) { position, record in
                switch record {
                case .config:
                    startAt = position
                    checkpoint = nil
                case .checkpoint(_, let state, let part, let count, let data):
                    if let whole = assembler.add(state: state, part: part, count: count, data: data),
                       let header = try? StageCheckpoint.header(whole.data), header.configHash == hash,
                       let json = try? StageCheckpoint.state(whole.data) {
                        checkpoint = (whole.state, json)
                    }
                default:
                    break
                }
            }
        }

        var summary = Summary()
        var recordInWindow = false
        let outcomes = observer.interlockOutcome
        let setpointChanges = observer.setpointChange
        let settings = bookSettings(config, hash: hash)
        let started = JournalStream.Configured(decoder: startDecoder, model: startModel, settings: settings,
                                               hazards: hazardSettings(config))
        let makeEngine = { (model: EngineModel) -> Engine in
            let e = Engine(model: model)
            if let outcomes { e.onInterlockOutcome = { if recordInWindow { outcomes($0) } } }
            if let setpointChanges { e.onSetpointChange = { if recordInWindow { setpointChanges($0) } } }
            return e
        }
        let baseDirectory = configPath.lastIndex(of: "/").map { String(configPath[..<$0]) } ?? "."
        let stream = JournalStream(
            stage: JournalStream.freshStage(started, makeEngine: makeEngine), decoder: startDecoder, settings: settings, configBytes: bytes,
            configure: { recordedHash, text, position, isReload in
                if !isReload {
                    // A daemon start: replay runs it with `--config` and says when that is not what ran.
                    if recordedHash != hash { summary.configMismatches.append("\(position): \(recordedHash)") }
                    return started
                }
                let reloaded: MeltWatchConfig
                do {
                    reloaded = try ConfigLoader.parse(bytes: text, file: "\(journalDirectory) \(position) (reloaded config)", baseDirectory: baseDirectory)
                } catch {
                    throw DaemonError(description: "\(position): the reloaded configuration does not load: \(error)")
                }
                return .init(decoder: try Daemon.decoder(for: reloaded), model: reloaded.engineModel(configHash: recordedHash), settings: settings,
                             hazards: hazardSettings(reloaded))
            },
            makeEngine: makeEngine
        )
        if let onReading = observer.reading {
            stream.onReading = { r, model in if recordInWindow { onReading(r, model) } }
        }
        if let checkpoint {
            do {
                try StageCheckpoint.restore(checkpoint.json, into: stream.stage, settings: settings)
                startAt = checkpoint.state
            } catch {
                // Replay from the start before it instead (slower, the same events).
                stream.reset(JournalStream.freshStage(started, makeEngine: makeEngine))
            }
        }
        try reader.forEachView { position, record in
            if let startAt, position < startAt { return }
            summary.records += 1
            if summary.records % 100_000 == 0 { progress?(summary.records) }
            let t = record.time
            let inWindow = (from.map { t >= $0 } ?? true) && (to.map { t <= $0 } ?? true)
            recordInWindow = inWindow
            if inWindow { observer.record?(t) }
            if case .message = record { summary.messages += 1 }
            try stream.apply(record, at: position)
            if stream.stage.hasHazardOutput {
                let changed = stream.stage.takeHazards().changed
                if let hazardRecord = observer.hazardRecord { for h in changed { hazardRecord(h) } }
            }
            if stream.stage.hasOutput {
                let taken = stream.stage.take()
                if inWindow {
                    summary.events += taken.events.count
                    for event in taken.events { observer.event(event, t) }
                    summary.hazardEvents += taken.hazardNotices.count
                    for n in taken.hazardNotices {
                        if n.kind == "opened" { summary.hazardsOpened.append(n.hazardID) }
                        observer.hazard?(n, t)
                    }
                }
            }
        }
        return summary
    }

    /// The alarm book's settings for a configuration.
    static func bookSettings(_ config: MeltWatchConfig, hash: String) -> AlarmBook.Settings {
        var settings = AlarmBook.Settings(escalateAfterMilliseconds: Int64(config.duty.escalateAfterSeconds) * 1000, configHash: hash)
        settings.systemEquipment = config.systemEquipment
        return settings
    }

    /// The hazard desk's durations of a configuration (`hazards:`).
    static func hazardSettings(_ config: MeltWatchConfig) -> HazardDesk.Settings {
        HazardDesk.Settings(bypassMinutes: config.hazards.bypassMinutes, deviceMinutes: config.hazards.deviceMinutes)
    }
}
