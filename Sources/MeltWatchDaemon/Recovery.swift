import Logging
import MeltWatchAlarms
import MeltWatchConfig
import MeltWatchCore
import MeltWatchJournal
import MeltWatchRules

/// Recovery at start: the engine and the alarm book as an uninterrupted daemon would have them now.
///
/// Alarm events are a function of the journal, so the state after the last journal record is the
/// latest checkpoint's state with every record after it replayed through the same ``JournalStream``
/// (the inputs the crash left in the ring included). Replay makes the events the dead process made
/// after the checkpoint, with the same `event_id`s; the daemon sends on only those its outbox lacks.
/// A start recorded without a checkpoint after it (a `config` record and the book beside it) is an
/// anchor too: a fresh engine from there. Recovery time is bounded by the checkpoint interval times
/// the replay speed.
enum Recovery {
    struct Recovered {
        var stream: JournalStream
        /// The events computed from the records after the anchor, in order, with the alarms after them.
        var output: AlarmBook.Output
        /// The configuration in force at the journal's end.
        var configHash: String
        /// What recovery started from, for the log; the segment it lies in (kept by the size bound).
        var anchor: String
        var anchorSegment: UInt64 = 0
        var records = 0
        /// Milliseconds spent rebuilding the anchor's state, and replaying the records after it.
        var restoreMilliseconds = 0.0
        var replayMilliseconds = 0.0
        /// Checkpoints that could not be used (damaged, another version), newest first.
        var skipped: [String] = []
        /// Damage met on the way (records after it in its segment could not be read, nor replayed).
        var damage: [String] = []
    }

    private enum Anchor {
        case checkpoint(state: JournalPosition, written: JournalPosition, data: [UInt8])
        case start(JournalPosition, hash: String, text: [UInt8])

        /// Where replay begins.
        var position: JournalPosition {
            switch self {
            case .checkpoint(let state, _, _): state
            case .start(let p, _, _): p
            }
        }
    }

    /// Finds the latest usable anchor and replays the journal's tail from it; nil when the journal
    /// holds no start at all (a new journal). Throws when the journal cannot be read.
    static func run(journalDirectory: String, baseDirectory: String) throws -> Recovered? {
        let reader = JournalReader(directory: journalDirectory)
        var skipped: [String] = []
        for segment in try reader.segments().reversed() {
            let (found, damage) = try anchors(in: segment, reader: reader)
            if let damage { skipped.append("anchors after \(damage) are unreadable") }
            for anchor in found {
                do {
                    guard var recovered = try replay(from: anchor, reader: reader, journalDirectory: journalDirectory, baseDirectory: baseDirectory) else { continue }
                    recovered.skipped = skipped
                    recovered.anchorSegment = anchor.position.segment
                    return recovered
                } catch let error as CheckpointUnusable {
                    skipped.append(error.description)
                }
            }
        }
        return nil
    }

    private struct CheckpointUnusable: Error, CustomStringConvertible {
        var description: String
    }

    /// Reads one segment up to damage, if any (a bad record is never skipped silently: the problem
    /// is returned for the log); other errors, the body's included, are thrown.
    private static func read(_ segment: UInt64, _ reader: JournalReader,
                             _ body: (JournalPosition, JournalRecordView) throws -> Void) throws -> String? {
        do {
            try reader.forEachView(segments: segment...segment, body)
            return nil
        } catch JournalError.integrity(let problem) {
            return "\(problem)"
        }
    }

    /// The anchors recorded in one segment, latest first: complete checkpoints and starts (those
    /// before damage, if the segment is damaged).
    private static func anchors(in segment: UInt64, reader: JournalReader) throws -> (found: [Anchor], damage: String?) {
        var found: [Anchor] = []
        var assembler = CheckpointAssembler()
        let damage = try read(segment, reader) { position, view in
            switch view {
            case .config(_, let hash, let text):
                found.append(.start(position, hash: String(decoding: hash, as: UTF8.self), text: Array(text)))
            case .checkpoint(_, let state, let part, let count, let data):
                if let whole = assembler.add(state: state, part: part, count: count, data: data) {
                    found.append(.checkpoint(state: whole.state, written: position, data: whole.data))
                }
            default:
                break
            }
        }
        return (found.sorted { $0.position > $1.position }, damage)
    }

    /// Rebuilds the stage at `anchor` and replays every record from there to the journal's end.
    private static func replay(from anchor: Anchor, reader: JournalReader, journalDirectory: String,
                               baseDirectory: String) throws -> Recovered? {
        let configure = { (hash: String, text: [UInt8], position: JournalPosition, _: Bool) throws -> JournalStream.Configured in
            let config: MeltWatchConfig
            do {
                config = try ConfigLoader.parse(bytes: text, file: "\(journalDirectory) \(position) (recorded config)", baseDirectory: baseDirectory)
            } catch {
                throw DaemonError(description: "\(position): the recorded configuration does not load: \(error)")
            }
            return .init(decoder: try Daemon.decoder(for: config), model: config.engineModel(configHash: hash),
                         settings: Replay.bookSettings(config, hash: hash), hazards: Replay.hazardSettings(config))
        }
        let stream: JournalStream
        let description: String
        var configHash: String
        let restoring = Monotonic.nanoseconds()
        switch anchor {
        case .checkpoint(let state, let written, let data):
            do {
                let header = try StageCheckpoint.header(data)
                let configured = try configure(header.configHash, Array(header.configText.utf8), written, false)
                let stage = JournalStream.freshStage(configured)
                try StageCheckpoint.restore(try StageCheckpoint.state(data), into: stage, settings: configured.settings)
                stream = JournalStream(stage: stage, decoder: configured.decoder, settings: configured.settings,
                                       configBytes: Array(header.configText.utf8), configure: configure)
                configHash = header.configHash
            } catch {
                throw CheckpointUnusable(description: "checkpoint written at \(written): \(error)")
            }
            description = "checkpoint of \(state) (written at \(written))"
        case .start(let position, let hash, let text):
            // A fresh engine, as the start recorded here began; its book follows in the next record.
            let configured = try configure(hash, text, position, false)
            stream = JournalStream(stage: JournalStream.freshStage(configured), decoder: configured.decoder, settings: configured.settings,
                                   configBytes: text, configure: configure)
            configHash = hash
            description = "daemon start at \(position) (no checkpoint after it)"
        }
        // A checkpoint's state is that before its position; a start's record is applied above.
        let isStart = if case .start = anchor { true } else { false }
        var output = AlarmBook.Output()
        var records = 0
        let replaying = Monotonic.nanoseconds()
        var damage: [String] = []
        // Segment by segment: damage inside one (bit rot, kept as evidence while writing went on in
        // a new segment) loses what follows it there, not the rest of the journal.
        for segment in try reader.segments() where segment >= anchor.position.segment {
            let problem = try read(segment, reader) { position, record in
                guard position > anchor.position || (position == anchor.position && !isStart) else { return }
                records += 1
                switch record {
                case .config(_, let hash, _), .reload(_, let hash, _): configHash = String(decoding: hash, as: UTF8.self)
                default: break
                }
                try stream.apply(record, at: position)
                if stream.stage.hasOutput {
                    let taken = stream.stage.take()
                    output.events += taken.events
                    output.records += taken.records
                    output.hazardNotices += taken.hazardNotices
                    if let table = taken.maintenance { output.maintenance = table }
                }
            }
            if let problem { damage.append(problem) }
        }
        let done = Monotonic.nanoseconds()
        return Recovered(stream: stream, output: output, configHash: configHash, anchor: description, records: records,
                         restoreMilliseconds: Double(replaying - restoring) / 1e6, replayMilliseconds: Double(done - replaying) / 1e6,
                         damage: damage)
    }
}
