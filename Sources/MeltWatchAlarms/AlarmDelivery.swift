import Foundation
import Logging
import MeltWatchCore
import NIOConcurrencyHelpers
import ServiceLifecycle
import Synchronization

/// Delivers the stored alarm events to every channel, at least once, in sequence order (so in order
/// per alarm), with the same `event_id` and body on every retry.
///
/// Each channel reads the ``EventLog`` from its own cursor, which is kept in a file beside the
/// outbox: after a restart delivery resumes where it stopped, and an event delivered just before a
/// crash may arrive twice with the same `event_id` (receivers deduplicate on it). Failures are retried
/// with capped exponential backoff and jitter for ever; a channel failing for ``failingAlarmAfter``
/// raises a `webhook-failing` system alarm (cleared once it delivers again), and an HTTP 410 disables
/// the channel and raises `webhook-disabled`. A caught-up channel gets a `heartbeat` event every
/// ``heartbeatInterval`` so the duty side notices a silent monitor.
public final class AlarmDelivery: Service {
    /// Raises or clears the daemon's own alarms (the daemon routes them through the alarm book).
    public typealias SystemAlarmSink = @Sendable (_ rule: String, _ raise: Bool, _ subject: String, _ message: String) -> Void

    private let channels: [any DeliveryChannel]
    private let log: EventLog
    private let cursors: CursorStore
    private let policy: RetryPolicy
    private let logger: Logger
    private let drainTimeout: Duration
    public let heartbeatInterval: Duration?
    public let failingAlarmAfter: Duration
    private let systemAlarm: SystemAlarmSink
    private let heartbeat: HeartbeatSource
    /// What intervals, backoff and heartbeats are measured and waited with.
    private let clock: any ServiceClock
    private let stopping = Synchronization.Atomic<Bool>(false)
    private let deliveredCount = Synchronization.Atomic<Int>(0)
    /// Told of every event a channel confirmed (the delivery stage of the latency metrics).
    private let onDelivered: (@Sendable (StoredEvent) -> Void)?
    private let failedAttempts = Synchronization.Atomic<Int>(0)
    /// Per channel (same index): the last sequence delivered.
    private let positions: NIOLockedValueBox<[Int64]>
    /// Told (with the channel's index) each time a caught-up channel starts waiting for events: the
    /// tests' sync point with a manual clock. Set before ``run()``.
    var onIdle: (@Sendable (Int) -> Void)?
    /// Per channel (same index): disabled by an HTTP 410 (it no longer holds the outbox's events).
    private let disabled: NIOLockedValueBox<[Bool]>

    /// Creates the service; nothing is sent until ``run()``. Cursors are read now.
    public init(channels: [any DeliveryChannel], log: EventLog, cursorDirectory: String, policy: RetryPolicy = RetryPolicy(),
                heartbeat: Duration?, heartbeatEvent: HeartbeatSource, failingAlarmAfter: Duration = .seconds(60),
                drainTimeout: Duration = .seconds(5), clock: any ServiceClock = SystemServiceClock(), logger: Logger,
                systemAlarm: @escaping SystemAlarmSink, onDelivered: (@Sendable (StoredEvent) -> Void)? = nil) throws {
        self.onDelivered = onDelivered
        self.clock = clock
        self.channels = channels
        self.log = log
        cursors = try CursorStore(directory: cursorDirectory)
        self.policy = policy
        self.logger = logger
        self.drainTimeout = drainTimeout
        heartbeatInterval = heartbeat
        self.heartbeat = heartbeatEvent
        self.failingAlarmAfter = failingAlarmAfter
        self.systemAlarm = systemAlarm
        var start: [Int64] = []
        for c in channels {
            let cursor = cursors.load(c.cursorKey, adopting: c.legacyCursorKeys)
            start.append(cursor)
        }
        positions = NIOLockedValueBox(start)
        disabled = NIOLockedValueBox(Array(repeating: false, count: channels.count))
    }

    /// The sequence every channel still delivering has delivered (the outbox may drop what is at or
    /// below it): the lowest cursor of the channels not disabled, or `latest` when none delivers.
    public func deliveredThrough(latest: Int64) -> Int64 {
        let cursors = positions.withLockedValue { $0 }
        let gone = disabled.withLockedValue { $0 }
        return zip(cursors, gone).filter { !$0.1 }.map(\.0).min() ?? latest
    }

    /// The lowest delivered sequence over all channels (what the outbox must still hold in memory).
    public static func lowestCursor(channels: [any DeliveryChannel], cursorDirectory: String) -> Int64 {
        guard let store = try? CursorStore(directory: cursorDirectory) else { return 0 }
        return channels.map { c in store.peek(c.cursorKey, legacy: c.legacyCursorKeys) }.min() ?? Int64.max
    }

    /// The highest cursor of any channel, or of any cursor file left in the directory (the outbox
    /// numbers new events above it).
    public static func highestCursor(cursorDirectory: String) -> Int64 {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: cursorDirectory) else { return 0 }
        return names.filter { $0.hasSuffix(".cursor") }.compactMap { name -> Int64? in
            guard let text = try? String(contentsOfFile: cursorDirectory + "/" + name, encoding: .utf8) else { return nil }
            return text.split(separator: "\n").first.flatMap { Int64($0) }
        }.max() ?? 0
    }

    /// Events stored but not yet delivered, summed over channels (`meltwatch_webhook_pending`).
    public var pending: Int {
        let last = log.lastSequence
        return positions.withLockedValue { $0.reduce(0) { $0 + Int(max(0, last - $1)) } }
    }
    /// Events delivered (2xx), over all channels.
    public var delivered: Int { deliveredCount.load(ordering: .relaxed) }
    /// Delivery attempts that failed (and were retried).
    public var failures: Int { failedAttempts.load(ordering: .relaxed) }

    /// Delivers until graceful shutdown, then for at most the drain timeout.
    public func run() async throws {
        await withTaskGroup(of: Void.self) { group in
            for i in channels.indices {
                group.addTask { await self.serve(i) }
            }
            group.addTask {
                // Wakes every reader of the log once a second: idle channels send their heartbeat on
                // time and idle SSE streams theirs.
                while !self.stopping.load(ordering: .acquiring), !Task.isCancelled {
                    try? await self.clock.sleep(for: .seconds(1))
                    self.log.ringAll()
                }
            }
            await withGracefulShutdownHandler {
                if channels.isEmpty { try? await gracefulShutdown() }
                await group.waitForAll()
            } onGracefulShutdown: {
                self.stopping.store(true, ordering: .releasing)
                self.log.ringAll()
            }
        }
    }

    private func serve(_ i: Int) async {
        let channel = channels[i]
        let (bell, doorbell) = log.subscribe()
        defer { log.unsubscribe(bell) }
        var bells = doorbell.makeAsyncIterator()
        var cursor = positions.withLockedValue { $0[i] }
        var savedCursor = cursor
        var lastSave = clock.elapsed
        var lastHeartbeat = clock.elapsed
        var failingSince: Duration?
        var failingRaised = false
        var drainDeadline: Duration?
        func save(force: Bool) {
            guard cursor != savedCursor, force || clock.elapsed - lastSave >= .milliseconds(200) else { return }
            do {
                try cursors.store(channel.cursorKey, cursor)
                savedCursor = cursor
                lastSave = clock.elapsed
            } catch {
                logger.error("cannot save the delivery cursor (events may be delivered twice after a restart)", metadata: [
                    "delivery.channel": "\(channel.name)", "delivery.error": "\(error)",
                ])
            }
        }
        defer { save(force: true) }

        while true {
            let batch = log.events(after: cursor)
            if batch.isEmpty {
                // At most every 200 ms (the log wakes idle readers once a second): a cursor's two
                // syncs after every alarm competed with the journal's fdatasync for the disk and
                // held a cooperative thread. A crash then repeats at most that much (same event_id).
                save(force: false)
                if stopping.load(ordering: .acquiring) { return }
                if let interval = heartbeatInterval, clock.elapsed - lastHeartbeat >= interval {
                    lastHeartbeat = clock.elapsed
                    let beat = heartbeat.next()
                    if case .failed(let why) = await channel.deliver(beat) {
                        logger.warning("heartbeat not delivered", metadata: ["delivery.channel": "\(channel.name)", "delivery.error": "\(why)"])
                    }
                    continue
                }
                onIdle?(i)
                guard await bells.next() != nil else { return }
                continue
            }
            var next = batch.startIndex
            while next < batch.endIndex {
                let stored = batch[next]
                var attempt = 0
                var covered = 1
                while true {
                    attempt += 1
                    let (n, result) = await channel.deliver(batch: batch[next...])
                    if case .wait(let delay) = result {
                        attempt -= 1
                        if !(await pause(delay, deadline: &drainDeadline)) {
                            logger.error("stopping with undelivered alarm events (kept in the outbox, delivered after restart)", metadata: [
                                "delivery.channel": "\(channel.name)", "delivery.pending": "\(log.lastSequence - cursor)",
                            ])
                            return
                        }
                        continue
                    }
                    if result == .delivered {
                        covered = min(max(n, 1), batch.endIndex - next)
                        for s in batch[next..<(next + covered)] {
                            deliveredCount.add(1, ordering: .relaxed)
                            onDelivered?(s)
                        }
                        if failingRaised {
                            failingRaised = false
                            systemAlarm("webhook-failing", false, channel.name, "报警推送已恢复：\(channel.name) (alarm delivery recovered)")
                        }
                        failingSince = nil
                        break
                    }
                    failedAttempts.add(1, ordering: .relaxed)
                    if case .gone(let why) = result {
                        logger.critical("endpoint gone (HTTP 410): delivery to it is disabled until restart", metadata: [
                            "delivery.channel": "\(channel.name)", "alarm.event_id": "\(stored.envelope.eventID)",
                        ])
                        disabled.withLockedValue { $0[i] = true }
                        systemAlarm("webhook-disabled", true, channel.name,
                                    "报警推送端点已注销 (HTTP 410)，已停止向其推送：\(channel.name) (endpoint gone: \(why); delivery disabled)")
                        return
                    }
                    let now = clock.elapsed
                    let since = failingSince ?? now
                    failingSince = since
                    if !failingRaised, now - since >= failingAlarmAfter {
                        failingRaised = true
                        systemAlarm("webhook-failing", true, channel.name,
                                    "报警推送持续失败：\(channel.name)，事件在本机保存并持续重试 (alarm delivery failing; events kept and retried)")
                    }
                    let delay = policy.delay(attempt: attempt)
                    if case .failed(let why) = result {
                        logger.warning("delivery failed; will retry", metadata: [
                            "delivery.channel": "\(channel.name)", "alarm.event_id": "\(stored.envelope.eventID)",
                            "delivery.error": "\(why)", "delivery.attempt": "\(attempt)", "delivery.retry_ms": "\(delay.milliseconds)",
                        ])
                    }
                    if !(await pause(delay, deadline: &drainDeadline)) {
                        logger.error("stopping with undelivered alarm events (kept in the outbox, delivered after restart)", metadata: [
                            "delivery.channel": "\(channel.name)", "delivery.pending": "\(log.lastSequence - cursor)",
                        ])
                        return
                    }
                }
                next += covered
                cursor = batch[next - 1].sequence
                positions.withLockedValue { [cursor] in $0[i] = cursor }
                lastHeartbeat = clock.elapsed  // any event shows the monitor alive
                save(force: false)
            }
        }
    }

    /// Sleeps `delay` in short slices; false once shutdown began and its drain deadline passed.
    private func pause(_ delay: Duration, deadline: inout Duration?) async -> Bool {
        let end = clock.elapsed + delay
        while true {
            if stopping.load(ordering: .acquiring) {
                let d = deadline ?? clock.elapsed + drainTimeout
                deadline = d
                if clock.elapsed >= d { return false }
            }
            if Task.isCancelled { return false }
            let now = clock.elapsed
            if now >= end { return true }
            try? await clock.sleep(for: min(.milliseconds(250), end - now))
        }
    }
}

extension AlarmDelivery: @unchecked Sendable {}
// Safe: every stored property is immutable after init and itself Sendable or only used through
// thread-safe members (atomics, the log's mutex, the cursor store's per-channel files).

/// `heartbeat` events (contract §4): alarm id `meltwatch:daemon:heartbeat:<boot>`, one per daemon
/// start (`boot` = its start in epoch seconds), event ordinals counting the beats.
public final class HeartbeatSource: Sendable {
    private let boot: Int
    private let configHash: String
    private let equipment: String
    private let count = Synchronization.Atomic<Int>(0)
    private let clock: @Sendable () -> EventTime

    /// Creates a source for a daemon started at `boot` (epoch seconds).
    public init(boot: Int, configHash: String, equipment: String = SystemAlarms.equipment, clock: @escaping @Sendable () -> EventTime) {
        self.boot = boot
        self.equipment = equipment
        self.configHash = configHash
        self.clock = clock
    }

    /// The next heartbeat, stamped now.
    public func next() -> AlarmEnvelope {
        let k = count.add(1, ordering: .relaxed).newValue
        let now = clock()
        let event = AlarmEvent(
            kind: .heartbeat, state: .normal, alarmClass: .system, rule: "heartbeat", priority: .low,
            plant: SystemAlarms.plant, equipment: equipment, activation: boot, ordinal: k, signals: [],
            basis: SystemAlarms.basis, message: "监测系统运行正常 (monitor alive)", eventTime: now, configHash: configHash
        )
        return AlarmEnvelope(event: event, emittedAt: now)
    }
}

/// Delivery cursors, one small file per channel: `<sequence>\n<cursor key>\n`, replaced atomically
/// (write, fsync, rename, fsync the directory).
struct CursorStore: Sendable {
    let directory: String

    init(directory: String) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        self.directory = directory
    }

    private func path(_ channel: String) -> String {
        // Stable across runs and platforms, and a safe file name.
        "\(directory)/\(String(FNV1a.hash(channel), radix: 16)).cursor"
    }

    /// The last delivered sequence for `key`, else the first of `legacy` found — which is then
    /// stored under `key` and its file removed (it held a URL in the clear); 0 when none delivered.
    func load(_ key: String, adopting legacy: [String]) -> Int64 {
        let current = load(key)
        guard current == 0 else { return current }
        for old in legacy {
            let seq = load(old)
            guard seq > 0 else { continue }
            guard (try? store(key, seq)) != nil else { return seq }
            unlink(path(old))
            return seq
        }
        return 0
    }

    /// As ``load(_:adopting:)``, changing nothing.
    func peek(_ key: String, legacy: [String]) -> Int64 {
        let current = load(key)
        return current != 0 ? current : legacy.lazy.map { load($0) }.first { $0 > 0 } ?? 0
    }

    /// The last delivered sequence for `channel`, 0 when it never delivered.
    func load(_ channel: String) -> Int64 {
        guard let text = try? String(contentsOfFile: path(channel), encoding: .utf8) else { return 0 }
        let lines = text.split(separator: "\n")
        guard lines.count >= 2, String(lines[1]) == channel, let seq = Int64(lines[0]) else { return 0 }
        return seq
    }

    func store(_ channel: String, _ sequence: Int64) throws {
        let final = path(channel)
        let tmp = final + ".tmp"
        let bytes = Array("\(sequence)\n\(channel)\n".utf8)
        let fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw CursorError(path: tmp, errno: errno) }
        let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        let synced = fdatasync(fd)
        close(fd)
        guard written == bytes.count, synced == 0 else { throw CursorError(path: tmp, errno: errno) }
        guard rename(tmp, final) == 0 else { throw CursorError(path: final, errno: errno) }
        let dir = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dir >= 0 {
            _ = fsync(dir)
            close(dir)
        }
    }
}

struct CursorError: Error, CustomStringConvertible {
    var path: String
    var errno: Int32
    var description: String { "\(path): \(String(cString: strerror(errno)))" }
}
