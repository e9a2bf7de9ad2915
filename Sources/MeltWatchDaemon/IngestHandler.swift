import Logging
import MeltWatchAlarms
import MeltWatchCore
import MeltWatchDecode
import MeltWatchJournal
import MeltWatchMQTT
import MeltWatchRing

/// Runs on the ingest thread inside the MQTT loop: journals each batch as received, makes it durable,
/// decodes it and pushes readings and clock ticks into the ring.
///
/// Two clocks: the daemon clock (``DaemonClock``: wall-clock readings paced by CLOCK_MONOTONIC, with
/// journaled rebases when the wall clock steps) stamps receive times and ticks; CLOCK_MONOTONIC alone
/// drives this thread's own intervals (ticks, commits, watchdog, checkpoints, retention and space
/// checks, `broker-lost`), so no step of the wall clock stops or hurries them.
///
/// Zero loss: the batch's QoS 1 acknowledgements leave only after `handle` returns (see
/// ``IngestSession``), and `handle` returns only after the journal's `fdatasync`. Ticks are journaled
/// and made durable before the engine sees them too, so whatever the engine did can be replayed
/// exactly. If the journal fails, the handler abandons the loop: nothing more is acknowledged, the
/// pipeline raises a `system` alarm and the daemon exits for its supervisor to restart it.
/// When the ring is full, `push` waits: we stop reading the socket, TCP and the broker's session
/// queue absorb the backlog, and no reading is ever dropped.
final class IngestHandler: IngestSession.Handler {
    private var decoder: MessageDecoder
    /// What the gateway formats caused besides readings (Sparkplug deaths, rebirth requests).
    private var effects = GatewayEffects()
    /// Publishes a gateway format's command on the ingest connection (set once the session exists;
    /// loop thread only). False when it could not be queued: the format asks again later.
    var publish: ((OutgoingMessage) -> Bool)?
    private var commandLog = RateLimitedLog(intervalMilliseconds: 10_000)
    private let ring: SPSCRing<EngineInput>
    private let counters: IngestCounters
    private let logger: Logger
    private let tickIntervalMilliseconds: Int64
    private let journal: JournalWriter
    private let control: LoopControl
    /// Ticks wait at most this long for a commit (config `journal.fsync_interval_ms`); batches with
    /// messages commit at once, since their acknowledgements wait for it.
    private let fsyncIntervalMilliseconds: Int64
    /// The daemon clock: receive times, ticks and every time that enters the journal.
    private var clock: DaemonClock
    /// Monotonic milliseconds of the last commit (as every `last…` interval mark below).
    private var lastCommit: Int64 = 0
    /// Segments older than this are removed (config `journal.retention_days`), checked hourly.
    private let retentionMilliseconds: Int64
    private var lastRetention: Int64 = 0
    /// How often retention looks (hourly; a test hook shortens it).
    private let retentionCheckIntervalMilliseconds: Int64
    /// The journal's size bound (config `journal.max_bytes`, `journal.min_free`), checked every
    /// `spaceCheckIntervalMilliseconds` (the first time at the first tick).
    private let journalBound: JournalSizeBound
    private let spaceCheckIntervalMilliseconds: Int64 = 10_000
    private var lastSpaceCheck: Int64 = 0
    private var spaceAlarmRaised = false
    /// When segments last had to go (or could not): `journal-space` clears only after the journal
    /// stayed under the bound this long since, so a gateway that keeps it at the bound does not
    /// make the alarm chatter with every segment removed.
    private var lastSpacePressure: Int64 = 0
    private let spaceClearAfterMilliseconds: Int64 = 600_000
    private var spaceLog = RateLimitedLog(intervalMilliseconds: 600_000)
    /// Why the journal failed, once it has (read by the pipeline after the ingest thread ends).
    private(set) var journalFailure: JournalError?
    private var decoded: [Reading] = []
    private var inputs: [EngineInput] = []
    private var lastTick: Int64 = 0
    /// The last tick's time (``judgedTime(_:inputCompleteAt:)``): ticks never go back.
    private var lastJudged: EventTime?
    /// How far a tick's time is held behind the clock, at most, for input not yet read.
    private let maxInputLagMilliseconds: Int64 = 5_000
    private var lagLog = RateLimitedLog(intervalMilliseconds: 60_000)
    private var rejectLog = RateLimitedLog(intervalMilliseconds: 10_000)
    /// Alarm actions to journal and put into the stream.
    private let inbox: ActionInbox
    /// Configuration reloads accepted on SIGHUP, switched to at one point of the stream.
    private let reloader: ConfigReloader
    /// The broker's URL, and since when (monotonic) it has been unreachable (nil while connected).
    private let brokerURL: String
    private var disconnectedSince: Int64?
    /// When (monotonic) the link broke within the last `flappingWindowMilliseconds`: this many
    /// breaks in that window is `broker-lost` however short each outage was.
    private var recentLosses: [Int64] = []
    private let flappingLosses = 3
    private let flappingWindowMilliseconds: Int64 = 60_000
    /// The link state the engine was last told (``JournalRecord/link(time:up:)``); nil before the
    /// start's link-down record, which carries `streamEnd` (the previous run's last time): the engine
    /// judges nothing on the daemon clock from then until the broker answers again.
    private var linkUp: Bool?
    private let streamEnd: EventTime?
    private var brokerAlarmRaised = false
    /// Unreachable this long → `broker-lost` system alarm: the plants are not being monitored.
    private let brokerLostAfterMilliseconds: Int64
    /// systemd: `READY=1` at the first complete subscription, `WATCHDOG=1` from this loop.
    private let notify: SystemdNotify
    private var announcedReady = false
    private var lastWatchdog: Int64 = 0
    /// Checkpoints: asked for every `checkpointIntervalMilliseconds` at a point of the stream, journaled
    /// when the engine thread has encoded them (see ``CheckpointDesk``).
    private let checkpoints: CheckpointDesk
    private let checkpointIntervalMilliseconds: Int64
    private var lastCheckpoint: Int64
    /// The segment of the checkpoint appended last, protected once its commit is durable.
    private var pendingProtectedSegment: UInt64?

    init(decoder: MessageDecoder, ring: SPSCRing<EngineInput>, journal: JournalWriter, control: LoopControl,
         counters: IngestCounters, inbox: ActionInbox, reloader: ConfigReloader, checkpoints: CheckpointDesk,
         checkpointIntervalMilliseconds: Int64 = 60_000, brokerURL: String, notify: SystemdNotify, logger: Logger, tickIntervalMilliseconds: Int64 = 100,
         fsyncIntervalMilliseconds: Int64 = 50, retentionDays: Int = 400, journalBound: JournalSizeBound = JournalSizeBound(),
         brokerLostAfterMilliseconds: Int64 = 3_000, streamEnd: EventTime? = nil, retentionCheckIntervalMilliseconds: Int64 = 3_600_000) {
        self.retentionCheckIntervalMilliseconds = retentionCheckIntervalMilliseconds
        self.decoder = decoder
        self.inbox = inbox
        self.reloader = reloader
        self.notify = notify
        self.brokerURL = brokerURL
        self.brokerLostAfterMilliseconds = brokerLostAfterMilliseconds
        clock = DaemonClock(notBefore: streamEnd?.milliseconds)
        self.streamEnd = streamEnd
        disconnectedSince = Monotonic.milliseconds()
        self.journal = journal
        self.control = control
        self.fsyncIntervalMilliseconds = fsyncIntervalMilliseconds
        retentionMilliseconds = Int64(retentionDays) * 86_400_000
        lastRetention = Monotonic.milliseconds()
        self.journalBound = journalBound
        self.ring = ring
        self.counters = counters
        self.logger = logger
        self.tickIntervalMilliseconds = tickIntervalMilliseconds
        self.checkpoints = checkpoints
        self.checkpointIntervalMilliseconds = checkpointIntervalMilliseconds
        lastCheckpoint = Monotonic.milliseconds()
        decoded.reserveCapacity(256)
        inputs.reserveCapacity(4096)
    }

    func handle(batch: inout [MQTTMessage]) {
        counters.messagesReceived.add(batch.count, ordering: .relaxed)
        guard journalFailure == nil else { return }
        let now = daemonNow()
        guard journalFailure == nil else { return }
        // The batch's timing goes ahead of its readings; its commit time is filled in after the commit.
        let read = Monotonic.nanoseconds()
        let timingMark = inputs.count
        inputs.append(.timing(InputTiming(received: batch.first.map { $0.receivedNanos == 0 ? read : $0.receivedNanos } ?? read,
                                          read: read, committed: read)))
        inputs.append(.arrival(now))  // replay derives it from the messages' receive time
        for message in batch {
            var topic = message.topic
            let appended = topic.withUTF8 { t in
                message.payload.withUnsafeBytes { p in
                    Result { () throws(JournalError) in
                        try journal.appendMessage(topic: UnsafeRawBufferPointer(t), payload: p, qos: UInt8(clamping: message.qos), receivedAt: now)
                    }
                }
            }
            if case .failure(let e) = appended { return fail(e) }
            decoded.removeAll(keepingCapacity: true)
            let result = topic.withUTF8 { t in
                message.payload.withUnsafeBytes {
                    decoder.decode(topicBytes: UnsafeRawBufferPointer(t), payload: $0, now: now, into: &decoded, effects: &effects)
                }
            }
            if !effects.isEmpty { takeEffects() }
            switch result {
            case .success(let outcome):
                counters.readingsAccepted.add(outcome.readings, ordering: .relaxed)
                if outcome.unknownRoles > 0 { counters.reject(.unknownRole, count: outcome.unknownRoles) }
                if outcome.unknownTags > 0 { counters.reject(.unknownTag, count: outcome.unknownTags) }
                if outcome.unsupportedMetrics > 0 { counters.reject(.unsupportedMetric, count: outcome.unsupportedMetrics) }
                for r in decoded { inputs.append(.reading(r)) }
            case .failure(let error):
                counters.reject(error.reason)
                if let suppressed = rejectLog.shouldLog(key: error.reason.rawValue, now: Monotonic.milliseconds()) {
                    logger.warning("rejected gateway message", metadata: [
                        "mqtt.topic": "\(message.topic)", "reject.reason": "\(error.reason.rawValue)",
                        "reject.detail": "\(error.detail)", "reject.suppressed_since_last": "\(suppressed)",
                    ])
                }
            }
        }
        commitAndFlush(now, timingMark: timingMark)
    }

    func tick(inputCompleteAt: Int64) {
        guard journalFailure == nil else { return }
        let mono = Monotonic.milliseconds()
        if let interval = notify.watchdogIntervalMilliseconds, mono - lastWatchdog >= interval {
            // From the loop itself: pings stop when the loop stops turning (stuck, or blocked on a
            // full ring behind a stuck engine), and systemd restarts us.
            lastWatchdog = mono
            notify.send("WATCHDOG=1")
        }
        let time = daemonNow()
        guard journalFailure == nil else { return }
        watchBroker(mono)
        takeReload(time)
        takeActions(time)
        guard mono - lastTick >= tickIntervalMilliseconds else { return }
        lastTick = mono
        let judged = judgedTime(time, inputCompleteAt: inputCompleteAt)
        do {
            try journal.append(.tick(judged))
        } catch {
            return fail(error)
        }
        inputs.append(.tick(judged))
        decoder.tick(now: judged, effects: &effects)
        if !effects.isEmpty { takeEffects() }
        journalCheckpoints()
        if mono - lastCheckpoint >= checkpointIntervalMilliseconds {
            // The state after every record appended so far: the engine encodes it at this ticket.
            // The gateway formats' state opens it, so replay from there reads on exactly.
            lastCheckpoint = mono
            let position = journal.nextPosition
            do {
                try appendGatewayState(time)
            } catch {
                return fail(error)
            }
            inputs.append(.checkpoint(ticket: checkpoints.request(position: position, time: time)))
        }
        if mono - lastCommit >= fsyncIntervalMilliseconds { commitAndFlush(time) }
        if mono - lastRetention >= retentionCheckIntervalMilliseconds {
            lastRetention = mono
            do {
                for removed in try journal.removeSegments(before: time.adding(milliseconds: -retentionMilliseconds)) {
                    logger.info("journal: retention removed a segment", metadata: ["journal.segment": "\(removed)"])
                }
            } catch {
                logger.error("journal retention failed", metadata: ["journal.error": "\(error)"])
            }
        }
        if journalBound.isSet, mono - lastSpaceCheck >= spaceCheckIntervalMilliseconds {
            lastSpaceCheck = mono
            enforceJournalBound(time)
        }
    }

    /// The time a tick lets the engine and the gateway formats judge up to: the daemon time when the
    /// loop last knew it had read everything waiting, not the clock now. After a stall (a slow
    /// `fdatasync`, a starved process) the messages of the stall sit unread in the socket; ticking at
    /// the clock would fire timers those messages cancel — a false `stale`, an on-delay raised on data
    /// that already cleared it. Held at most ``maxInputLagMilliseconds``: an ingest that far behind is
    /// overloaded, and silence is judged again (and the lag logged) rather than never.
    private func judgedTime(_ now: EventTime, inputCompleteAt: Int64) -> EventTime {
        let lag = max(0, Monotonic.milliseconds() - inputCompleteAt)
        if lag > maxInputLagMilliseconds, let suppressed = lagLog.shouldLog(key: "lag", now: Monotonic.milliseconds()) {
            logger.warning("ingest is behind its input: silence is judged on the clock held back by the limit", metadata: [
                "ingest.lag_ms": "\(lag)", "ingest.lag_limit_ms": "\(maxInputLagMilliseconds)", "log.suppressed_since_last": "\(suppressed)",
            ])
        }
        let judged = max(now.adding(milliseconds: -min(lag, maxInputLagMilliseconds)), lastJudged ?? .init(milliseconds: .min))
        lastJudged = judged
        return judged
    }

    /// Journals the gateway formats' state (Sparkplug sessions) at this point, when any holds state.
    private func appendGatewayState(_ time: EventTime) throws(JournalError) {
        guard let state = decoder.encodeState() else { return }
        try journal.append(.gatewayState(time: time, data: state))
    }

    /// A signal lost (a Sparkplug death) goes into the stream after the message's readings; a command
    /// (a rebirth request) is published on the ingest connection.
    private func takeEffects() {
        for loss in effects.losses { inputs.append(.lost(loss)) }
        for command in effects.commands {
            let sent = publish?(command) ?? false
            if let suppressed = commandLog.shouldLog(key: command.topic, now: Monotonic.milliseconds()) {
                logger.notice(sent ? "asked a gateway to publish its births again" : "could not ask a gateway for its births (not connected); it will be asked again", metadata: [
                    "mqtt.topic": "\(command.topic)", "log.suppressed_since_last": "\(suppressed)",
                ])
            }
        }
        effects.removeAll()
    }

    /// The daemon clock now. A step of the wall clock since the last reading is journaled here, ahead
    /// of every record in the new base, and goes to the engine and the alarm book (they move every
    /// daemon-clock instant they hold by it) and to the journal's retention (segment ages move too).
    private func daemonNow() -> EventTime {
        beginIfNeeded()
        let (now, step) = clock.read()
        let time = EventTime(milliseconds: now)
        guard let step else { return time }
        logger.warning("the wall clock stepped: the daemon clock follows it; every timer keeps the time it had left", metadata: [
            "clock.step_ms": "\(step)", "clock.now": "\(time.rfc3339)",
        ])
        do {
            try journal.append(.clockStep(time: time, delta: step))
        } catch {
            fail(error)
            return time
        }
        journal.clockStepped(by: step)
        lastJudged = lastJudged.map { $0.adding(milliseconds: step) }
        inputs.append(.clockStep(step))
        return time
    }

    /// At the first turn of the loop: the link is down from where the previous run's stream ended
    /// (or from now, in a new journal) until the broker answers.
    private func beginIfNeeded() {
        guard linkUp == nil, journalFailure == nil else { return }
        linkUp = false
        let time = streamEnd ?? EventTime(milliseconds: clock.peek())
        do {
            try journal.append(.link(time: time, up: false))
        } catch {
            return fail(error)
        }
        inputs.append(.link(up: false, at: time))
    }

    /// The broker link went down or came back: journaled and committed at once, at this point of the
    /// stream (before the first message of the new connection).
    private func setLink(up: Bool) {
        guard journalFailure == nil else { return }
        let time = daemonNow()
        guard journalFailure == nil, linkUp != up else { return }
        linkUp = up
        do {
            try journal.append(.link(time: time, up: up))
        } catch {
            return fail(error)
        }
        inputs.append(.link(up: up, at: time))
        commitAndFlush(time)
    }

    /// Keeps the journal within `journal.max_bytes` and `journal.min_free`: the oldest sealed segments
    /// go first (never the one being written, the latest checkpoint's or the outbox), each one logged;
    /// the duty room gets `journal-space` while segments go or nothing is left to remove, cleared
    /// once the journal has stayed back under the bound for 10 minutes.
    private func enforceJournalBound(_ time: EventTime) {
        let space: JournalSpace
        do {
            space = try journal.enforce(journalBound, now: time)
        } catch {
            logger.error("journal size bound: cannot measure the journal", metadata: ["journal.error": "\(error)"])
            return
        }
        let total = Self.mebibytes(space.totalBytes), free = space.freeBytes.map(Self.mebibytes) ?? "-"
        let bound = "max_bytes \(journalBound.maxBytes.map(Self.mebibytes) ?? "-"), min_free \(Self.mebibytes(journalBound.minFreeBytes))"
        for r in space.removed {
            logger.warning("journal: size bound removed a segment (its records are gone)", metadata: [
                "journal.segment": "\(r.path)", "journal.segment_bytes": "\(r.bytes)",
                "journal.bytes": "\(space.totalBytes)", "journal.free_bytes": "\(space.freeBytes.map(String.init) ?? "-")",
            ])
        }
        if let problem = space.problem {
            logger.error("journal size bound: removing a segment failed", metadata: ["journal.error": "\(problem)"])
        }
        if space.overBound, spaceLog.shouldLog(key: "over", now: Monotonic.milliseconds()) != nil {
            logger.error("journal over its size bound with no sealed segment left to remove", metadata: [
                "journal.bytes": "\(space.totalBytes)", "journal.free_bytes": "\(space.freeBytes.map(String.init) ?? "-")",
            ])
        }
        let mono = Monotonic.milliseconds()
        if !space.removed.isEmpty || space.overBound {
            lastSpacePressure = mono
            guard !spaceAlarmRaised else { return }
            spaceAlarmRaised = true
            let message = space.removed.isEmpty
                ? "日志存储空间超限，已无可删除的日志段（当前段、最近检查点与发件箱保留）：日志 \(total)，剩余 \(free)（\(bound)）(journal over its size bound with nothing left to remove)"
                : "日志存储空间超限，已删除最早的 \(space.removed.count) 个日志段，其中记录已丢失：日志 \(total)，剩余 \(free)（\(bound)）(journal over its size bound: oldest segments removed)"
            inbox.submit(.system(rule: "journal-space", raise: true, subject: "journal", message: message))
        } else if spaceAlarmRaised, mono - lastSpacePressure >= spaceClearAfterMilliseconds {
            spaceAlarmRaised = false
            inbox.submit(.system(rule: "journal-space", raise: false, subject: "journal",
                                 message: "日志存储空间已恢复到限额以内：日志 \(total)，剩余 \(free) (journal back under its size bound)"))
        }
    }

    private static func mebibytes(_ bytes: UInt64) -> String { "\(bytes >> 20) MiB" }

    /// Appends the checkpoints the engine thread has encoded (durable with the next commit; once
    /// durable, the journal's size bound and retention keep its segment).
    private func journalCheckpoints() {
        let parts = checkpoints.takeReady()
        guard !parts.isEmpty else { return }
        do {
            for p in parts { try journal.append(.checkpoint(p)) }
        } catch {
            return fail(error)
        }
        if let latest = parts.last?.position.segment { pendingProtectedSegment = latest }
    }

    /// After a clean stop (both threads done): the state after every journaled input, so the next
    /// start restores it and replays nothing.
    func finalCheckpoint(_ encode: (JournalPosition, EventTime) -> [UInt8]?) {
        guard journalFailure == nil else { return }
        let now = EventTime(milliseconds: clock.peek())
        let position = journal.nextPosition
        guard let data = encode(position, now) else { return }
        do {
            try appendGatewayState(now)
            for p in CheckpointPart.split(data, time: now, position: position) { try journal.append(.checkpoint(p)) }
            try journal.commit(now: now)
        } catch {
            logger.error("final checkpoint not journaled", metadata: ["journal.error": "\(error)"])
        }
    }

    /// Journals the queued alarm actions and puts each one's ticket into the stream at this point;
    /// commits at once: an operator waits for the answer.
    /// A reload accepted since the last turn: journaled (durable before anything decoded with it is
    /// acknowledged), then the decoder and subscriptions switch, and the marker tells the engine
    /// thread where its rules switch.
    private func takeReload(_ now: EventTime) {
        guard let (ticket, reload) = reloader.takePending(at: now) else { return }
        do {
            try journal.append(.reload(time: now, hash: reload.hash, text: reload.bytes))
        } catch {
            return fail(error)
        }
        do {
            // Sparkplug sessions go on across a reload: the edge nodes do not know we reloaded.
            try reload.decoder.adoptState(from: decoder)
        } catch {
            logger.error("gateway state not carried over the reload; Sparkplug edge nodes will be asked for births", metadata: ["decode.error": "\(error)"])
        }
        decoder = reload.decoder
        control.resubscribe(reload.config.subscriptionTopics)
        inputs.append(.reload(ticket: ticket))
        commitAndFlush(now)
    }

    private func takeActions(_ now: EventTime) {
        let actions = inbox.drain(at: now)
        guard !actions.isEmpty else { return }
        for a in actions {
            do {
                try journal.append(.action(time: now, data: a.action.encoded()))
            } catch {
                return fail(error)
            }
            inputs.append(.action(ticket: a.ticket))
        }
        commitAndFlush(now)
    }

    /// Raises `broker-lost` once the broker has been unreachable for a while, or when the link keeps
    /// breaking (every reconnect restarts the signals' staleness, so a link that flaps faster than
    /// `brokerLostAfterMilliseconds` would otherwise hide both); clears it on a reconnect that holds.
    private func watchBroker(_ now: Int64) {
        while let first = recentLosses.first, now - first > flappingWindowMilliseconds { recentLosses.removeFirst() }
        let flapping = recentLosses.count >= flappingLosses
        if let since = disconnectedSince, !flapping {
            guard !brokerAlarmRaised, now - since >= brokerLostAfterMilliseconds else { return }
            brokerAlarmRaised = true
            inbox.submit(.system(rule: "broker-lost", raise: true, subject: brokerURL,
                                 message: "与消息代理断开 \((now - since) / 1000) 秒，报警监测中断：\(brokerURL) (broker unreachable: plants are NOT monitored)"))
        } else if flapping {
            guard !brokerAlarmRaised else { return }
            brokerAlarmRaised = true
            inbox.submit(.system(rule: "broker-lost", raise: true, subject: brokerURL,
                                 message: "与消息代理的连接 \(flappingWindowMilliseconds / 1000) 秒内中断 \(recentLosses.count) 次，报警监测不可靠：\(brokerURL) (broker link keeps breaking: plants are NOT reliably monitored)"))
        } else if brokerAlarmRaised {
            brokerAlarmRaised = false
            inbox.submit(.system(rule: "broker-lost", raise: false, subject: brokerURL,
                                 message: "已重新连接消息代理：\(brokerURL) (broker reconnected)"))
        }
    }

    /// Makes everything appended durable, then hands the inputs to the engine.
    private func commitAndFlush(_ now: EventTime, timingMark: Int? = nil) {
        do {
            try journal.commit(now: now)
        } catch {
            return fail(error)
        }
        if let timingMark, case .timing(var t) = inputs[timingMark] {
            t.committed = Monotonic.nanoseconds()
            inputs[timingMark] = .timing(t)
        }
        lastCommit = Monotonic.milliseconds()
        if let segment = pendingProtectedSegment {
            journal.protectedSegment = segment
            pendingProtectedSegment = nil
        }
        counters.journalBytes.store(Int(journal.bytesCommitted), ordering: .relaxed)
        flush()
    }

    /// The journal failed: acknowledge nothing more, feed the engine nothing it could not replay.
    private func fail(_ error: JournalError) {
        journalFailure = error
        counters.journalWritable.store(false, ordering: .relaxed)
        inputs.removeAll()
        inbox.close(AlarmActionError(.unavailable, "the journal failed: the daemon is restarting (日志故障，守护进程重启中)"))
        logger.critical("journal failed: stopping acknowledgements; the broker keeps what was not acknowledged",
                        metadata: ["journal.error": "\(error)"])
        control.abandon()
    }

    func event(_ event: MQTTEvent) {
        switch event {
        case .connected(let sessionPresent):
            disconnectedSince = nil
            setLink(up: true)
            counters.brokerConnected.store(true, ordering: .relaxed)
            logger.info("connected to broker", metadata: ["mqtt.session_present": "\(sessionPresent)"])
        case .connectionRefused(let code, let reason):
            if disconnectedSince == nil { disconnectedSince = Monotonic.milliseconds() }
            setLink(up: false)
            counters.brokerConnected.store(false, ordering: .relaxed)
            counters.subscribed.store(false, ordering: .relaxed)
            logger.error("broker refused the connection", metadata: ["mqtt.connack": "\(code)", "mqtt.reason": "\(reason)"])
        case .connectionLost(let error, let retry):
            if linkUp == true { recentLosses.append(Monotonic.milliseconds()) }
            if disconnectedSince == nil {
                // A keepalive failure means the link was already silent for a whole keepalive period
                // (a cut cable, a dead switch): broker-lost is due at once, not after another wait.
                disconnectedSince = Monotonic.milliseconds() - (error.code == MosquittoError.Code.keepalive ? brokerLostAfterMilliseconds : 0)
            }
            setLink(up: false)
            counters.brokerConnected.store(false, ordering: .relaxed)
            counters.subscribed.store(false, ordering: .relaxed)
            logger.warning("broker connection lost; reconnecting", metadata: [
                "mqtt.error": "\(error)", "mqtt.retry_ms": "\(retry)",
            ])
        case .subscribed(let topics):
            counters.subscribed.store(true, ordering: .relaxed)
            if !announcedReady {
                // The journal was recovered before this thread started and the broker answered the
                // subscription. A refused topic does not hold READY back (a restart loop would
                // monitor nothing); it is in the status line, the log and /readyz.
                announcedReady = true
                let refused = counters.rejectedSubscriptions.load(ordering: .relaxed)
                notify.send("READY=1\nSTATUS=monitoring \(topics) topics" + (refused > 0 ? "; \(refused) REFUSED by the broker" : ""))
            }
            logger.info("subscribed", metadata: ["mqtt.topics": "\(topics)"])
        case .subscriptionRejected(let topic):
            counters.rejectedSubscriptions.add(1, ordering: .relaxed)
            logger.error("broker refused a subscription; this signal is NOT monitored", metadata: ["mqtt.topic": "\(topic)"])
        }
    }

    private func flush() {
        guard !inputs.isEmpty else { return }
        inputs.withUnsafeBufferPointer { ring.push(contentsOf: $0) }
        inputs.removeAll(keepingCapacity: true)
    }
}

/// At most one log line per key and interval; reports how many were suppressed in between.
struct RateLimitedLog {
    let intervalMilliseconds: Int64
    private var last: [String: (time: Int64, suppressed: Int)] = [:]

    init(intervalMilliseconds: Int64) { self.intervalMilliseconds = intervalMilliseconds }

    /// nil: stay quiet; otherwise log, and the value is how many were suppressed since the last line.
    mutating func shouldLog(key: String, now: Int64) -> Int? {
        if let l = last[key], now - l.time < intervalMilliseconds {
            last[key] = (l.time, l.suppressed + 1)
            return nil
        }
        let suppressed = last[key]?.suppressed ?? 0
        last[key] = (now, 0)
        return suppressed
    }
}
