import Foundation
import Logging
import MeltWatchAlarms
import MeltWatchCore
import MeltWatchDecode
import MeltWatchJournal
import MeltWatchMQTT
import MeltWatchRing
import MeltWatchRules
import NIOConcurrencyHelpers
import ServiceLifecycle

/// The two dedicated threads of the hot path and the ring between them, as one `Service`:
///
///     ingest thread: MQTT loop -> journal -> decode -> ring.push (waits when full); alarm actions
///                    journaled and put into the ring as tickets
///     engine thread: ring.pop -> engine -> alarm book -> outbox (fdatasync) -> event log, boards,
///                    operators' answers
///
/// Threads, not tasks: the ingest loop blocks in `poll` and the engine must not share a cooperative
/// pool with HTTP work. Shutdown: stop the MQTT loop (it disconnects cleanly), close the ring, let the
/// engine drain what is left, end the SSE streams, then return so alarm delivery can drain in its turn.
final class Pipeline: Service {
    private let session: IngestSession
    private let handler: IngestHandler
    private let ring: SPSCRing<EngineInput>
    private let stage: AlarmStage
    private var engine: Engine { stage.engine }
    private let alarms: AlarmOutput
    private let hazards: HazardOutput
    private let reloader: ConfigReloader
    private let checkpoints: CheckpointDesk
    private let latency: LatencyStages
    /// Encodes checkpoints off the engine thread, one at a time, at low priority.
    private let checkpointQueue = DispatchQueue(label: "meltwatch-checkpoint", qos: .utility)
    /// The configuration the engine runs (engine thread only): a checkpoint holds it.
    private var configBytes: [UInt8]
    private let counters: IngestCounters
    private let logger: Logger
    private let control: LoopControl
    private let ingestExit = ThreadExit()
    private let engineExit = ThreadExit()
    private let statsInterval: Duration = .seconds(60)
    /// Test hook (`MELTWATCH_TEST_ENGINE_STALL_FILE`): while that file exists the engine thread takes
    /// nothing from the ring, so acknowledged inputs pile up there as behind a stuck engine (the
    /// recovery tests kill the daemon then). Read once at start; unset in production.
    private let stallFile = ProcessInfo.processInfo.environment["MELTWATCH_TEST_ENGINE_STALL_FILE"]

    init(session: IngestSession, handler: IngestHandler, control: LoopControl, ring: SPSCRing<EngineInput>, stage: AlarmStage,
         alarms: AlarmOutput, hazards: HazardOutput, reloader: ConfigReloader, checkpoints: CheckpointDesk, configBytes: [UInt8], latency: LatencyStages,
         counters: IngestCounters, logger: Logger) {
        self.checkpoints = checkpoints
        self.latency = latency
        self.configBytes = configBytes
        self.session = session
        self.control = control
        self.handler = handler
        self.ring = ring
        self.stage = stage
        self.alarms = alarms
        self.hazards = hazards
        self.reloader = reloader
        self.counters = counters
        self.logger = logger
        let engine = stage.engine
        // Every trip's outcome is data, the good ones too (the journal will record it; logged until then).
        engine.onInterlockOutcome = { outcome in
            logger.info("interlock \(outcome.kind.rawValue)", metadata: [
                "plant.id": "\(outcome.plant)", "equipment.id": "\(outcome.equipment)", "interlock.trigger": "\(outcome.trigger)",
                "interlock.tripped_at": "\(outcome.trippedAt.rfc3339)",
                "interlock.latency_ms": "\(outcome.latencyMilliseconds.map(String.init) ?? "none")",
                "interlock.cause": "\(outcome.cause ?? "none")",
            ])
        }
        // Every change of an audited PLC setpoint is recorded (the journal holds the message; the
        // report lists the changes); one that leaves its tolerance also raises setpoint-mismatch.
        engine.onSetpointChange = { change in
            logger.log(level: change.mismatch ? .notice : .info, "setpoint changed", metadata: [
                "plant.id": "\(change.plant)", "equipment.id": "\(change.equipment)", "setpoint.name": "\(change.name)",
                "setpoint.value": "\(change.value)", "setpoint.previous": "\(change.previous.map { "\($0)" } ?? "none")",
                "setpoint.approved": "\(change.approved)", "setpoint.tolerance": "\(change.tolerance)",
            ])
        }
    }

    func run() async throws {
        let engineThread = Thread { [self] in
            counters.engineRunning.store(true, ordering: .relaxed)
            runEngine()
            counters.engineRunning.store(false, ordering: .relaxed)
            engineExit.signal(nil)
        }
        engineThread.name = "meltwatch-engine"
        let ingestThread = Thread { [self] in
            var failure: (any Error)?
            do {
                try session.run(control: control, handler: handler)
            } catch {
                failure = error
            }
            ring.close()
            ingestExit.signal(failure)
        }
        ingestThread.name = "meltwatch-ingest"
        engineThread.start()
        ingestThread.start()

        // Wait for a shutdown request, or for the ingest thread to die on its own (configuration error).
        await withGracefulShutdownHandler {
            var lastStats = ContinuousClock.now
            while !ingestExit.isDone, !Task.isShuttingDownGracefully, !Task.isCancelled {
                try? await Task.sleep(for: .milliseconds(50))
                if ContinuousClock.now - lastStats >= statsInterval {
                    lastStats = .now
                    logStatistics()
                }
            }
        } onGracefulShutdown: { [control] in
            control.requestStop()
        }
        control.requestStop()
        var failure = await ingestExit.wait()
        await engineExit.wait()
        // Both threads are done: the state is that after every journaled input, and the next start
        // restores it without replaying anything.
        checkpointQueue.sync {}  // a periodic one still encoding lands first
        handler.finalCheckpoint { position, time in
            do {
                return try StageCheckpoint.capture(stage, configBytes: configBytes).encoded()
            } catch {
                logger.error("final checkpoint failed", metadata: ["checkpoint.error": "\(error)"])
                return nil
            }
        }
        defer { alarms.log.endStreams() }  // after the last events: consoles get them, then their streams end
        logStatistics()
        if let error = handler.journalFailure {
            // Nothing more was acknowledged; tell the duty room, then exit so the supervisor restarts
            // us and recovery cuts the torn tail. The broker redelivers what we did not acknowledge.
            // The engine thread has exited: the book is ours now. (Not journaled: the journal is gone.)
            _ = stage.perform(.system(
                rule: "journal-failed", raise: true, subject: "journal",
                message: "日志写入失败，已停止确认消息，守护进程将重启：\(error) (journal write failed; acknowledgements stopped, restarting)"
            ), at: WallClock.now)
            alarms.publish(stage.take(), book: stage.book)
            hazards.publish(stage.takeHazards())
            failure = failure ?? error
        }
        logger.info("pipeline stopped", metadata: ["engine.events": "\(engine.counters.events)", "engine.readings": "\(engine.counters.readings)"])
        if let failure { throw failure }
    }

    /// Takes the engine's and the book's state (engine thread: copies, the alarm path waits for
    /// nothing else) and encodes it on the checkpoint queue for the ingest thread to journal. A
    /// failure costs this checkpoint only: recovery then starts from the previous one.
    private func writeCheckpoint(at position: JournalPosition, time: EventTime) {
        let started = Monotonic.nanoseconds()
        let capture = StageCheckpoint.capture(stage, configBytes: configBytes)
        counters.checkpointCaptureMicroseconds.store(Int((Monotonic.nanoseconds() - started) / 1000), ordering: .relaxed)
        checkpointQueue.async { [checkpoints, counters, logger] in
            let encoding = Monotonic.nanoseconds()
            do {
                let data = try capture.encoded()
                checkpoints.completed(data, position: position, time: time)
                counters.checkpointBytes.store(data.count, ordering: .relaxed)
                counters.checkpointEncodeMilliseconds.store(Int((Monotonic.nanoseconds() - encoding) / 1_000_000), ordering: .relaxed)
            } catch {
                logger.error("checkpoint failed; recovery will start from the previous one", metadata: ["checkpoint.error": "\(error)"])
            }
        }
    }

    /// One line with the ingest and ring counters, so an operator can see the daemon keeps up.
    private func logStatistics() {
        let rejected = counters.rejectionsByReason.filter { $0.count > 0 }.map { "\($0.reason)=\($0.count)" }
        logger.info("statistics", metadata: [
            "mqtt.messages_received": "\(counters.messagesReceived.load(ordering: .relaxed))",
            "mqtt.messages_rejected": "\(rejected.isEmpty ? "0" : rejected.joined(separator: ","))",
            "ingest.readings": "\(counters.readingsAccepted.load(ordering: .relaxed))",
            "ring.occupancy": "\(ring.occupancy)", "ring.capacity": "\(ring.capacity)", "ring.full_waits": "\(ring.fullWaits)",
            "checkpoint.bytes": "\(counters.checkpointBytes.load(ordering: .relaxed))",
            "checkpoint.capture_us": "\(counters.checkpointCaptureMicroseconds.load(ordering: .relaxed))",
            "checkpoint.encode_ms": "\(counters.checkpointEncodeMilliseconds.load(ordering: .relaxed))",
        ].merging(latency.summary().map { ("latency.\($0.stage)", Logger.MetadataValue.string($0.text)) }) { a, _ in a })
    }

    private func runEngine() {
        let capacity = 1024
        let buffer = UnsafeMutableBufferPointer<EngineInput>.allocate(capacity: capacity)
        defer { buffer.deallocate() }
        var timing: InputTiming?  // of the ingest batch the next readings belong to
        while true {
            if let stallFile, FileManager.default.fileExists(atPath: stallFile), !ring.isClosed {
                usleep(10_000)
                continue
            }
            // Read `isClosed` before popping: elements pushed just before close() are then still
            // seen by this pop, and an empty pop after a close observed here means fully drained.
            let closed = ring.isClosed
            let n = ring.pop(into: buffer, timeoutMilliseconds: 200)
            if n == 0 {
                if closed { break }
                continue
            }
            let popped = Monotonic.nanoseconds()
            var replies: [(ActionInbox.Reply, Result<AlarmRecord?, AlarmActionError>)] = []
            var ticked = false
            var causing: (timing: InputTiming, evaluated: UInt64)?  // the first alarm-causing reading
            for i in 0..<n {
                let input = buffer[i]
                switch input {
                case .action(let ticket):
                    guard let held = alarms.inbox.take(ticket) else { continue }
                    let result = stage.perform(held.action, at: held.time)
                    if let reply = held.reply { replies.append((reply, result)) }
                case .reload(let ticket):
                    guard let reload = reloader.take(ticket) else { continue }
                    let result = stage.reload(reload.model, at: reload.time)
                    configBytes = reload.bytes
                    alarms.reconfigure(signals: reload.config.signals, engine: stage.engine)
                    reloader.applied(reload, result)
                case .checkpoint(let ticket):
                    guard let request = checkpoints.take(ticket) else { continue }
                    writeCheckpoint(at: request.position, time: request.time)
                case .tick:
                    stage.process(input)
                    ticked = true
                case .arrival, .linkDown, .linkUp, .clockStep, .lost:
                    stage.process(input)
                case .reading:
                    guard causing == nil, let t = timing else {
                        stage.process(input)
                        continue
                    }
                    let before = stage.pendingEvents
                    stage.process(input)
                    if stage.pendingEvents > before { causing = (t, Monotonic.nanoseconds()) }
                case .timing(let t):
                    timing = t
                }
            }
            counters.readingsDuplicate.store(engine.counters.duplicates, ordering: .relaxed)
            counters.readingsOutOfOrder.store(engine.counters.outOfOrder, ordering: .relaxed)
            // Stored before anyone sees them; operators get their answer after that.
            let handed = stage.hasOutput ? alarms.publish(stage.take(), book: stage.book) : nil
            if let causing, let handed {
                latency.record(causing.timing, popped: popped, evaluated: causing.evaluated, stored: handed)
            }
            // The hazard records are written before an operator hears the answer to a step on one.
            if stage.hasHazardOutput { hazards.publish(stage.takeHazards()) }
            for (reply, result) in replies { reply(result) }
            if ticked {
                alarms.refreshSignals(engine)
                hazards.retry()
            }
        }
    }
}

/// A one-shot completion flag a thread sets on exit and async code awaits.
final class ThreadExit: Sendable {
    private let state = NIOLockedValueBox<(done: Bool, error: (any Error)?)>((false, nil))

    func signal(_ error: (any Error)?) { state.withLockedValue { $0 = (true, error) } }

    var isDone: Bool { state.withLockedValue { $0.done } }

    @discardableResult
    func wait() async -> (any Error)? {
        while true {
            let s = state.withLockedValue { $0 }
            if s.done { return s.error }
            try? await Task.sleep(for: .milliseconds(10))
        }
    }
}

extension IngestHandler: @unchecked Sendable {}
// Safe: only the ingest thread calls the handler (from inside `IngestSession.run`).

extension AlarmStage: @unchecked Sendable {}
// Safe: only the engine thread uses the stage (engine and book); the pipeline touches it again
// only after that thread has exited (ordered by ThreadExit's mutex).

extension Pipeline: @unchecked Sendable {}
// Safe: every stored property is immutable after init; the non-Sendable ones (session, handler,
// engine) are each used by exactly one of the two threads `run` starts, and by nothing else.
