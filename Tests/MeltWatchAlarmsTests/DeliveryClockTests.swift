import Logging
import MeltWatchCore
import MeltWatchTestKit
import NIOConcurrencyHelpers
import Testing

@testable import MeltWatchAlarms

/// A channel that answers as the test scripts it: failures first, then success; it records what
/// it was given. (The real webhook and robot channels are tested against real HTTP servers in
/// WebhookTests and RobotChannelTests; this one isolates the delivery service's timing.)
private final class ScriptedChannel: DeliveryChannel {
    let name = "webhook#1"
    let cursorKey = "webhook:scripted"
    private let state: NIOLockedValueBox<(failuresLeft: Int, delivered: [AlarmEnvelope], attempts: Int)>

    init(failFirst: Int) { state = NIOLockedValueBox((failFirst, [], 0)) }

    func deliver(_ envelope: AlarmEnvelope) async -> DeliveryResult {
        state.withLockedValue { s in
            s.attempts += 1
            if s.failuresLeft > 0 {
                s.failuresLeft -= 1
                return .failed("HTTP 503")
            }
            s.delivered.append(envelope)
            return .delivered
        }
    }

    var delivered: [AlarmEnvelope] { state.withLockedValue { $0.delivered } }
    var attempts: Int { state.withLockedValue { $0.attempts } }
}

private func event(_ n: Int) -> AlarmEnvelope {
    AlarmEnvelope(event: AlarmEvent(kind: .raised, state: .activeUnacked, alarmClass: .process, rule: "co-level-1", priority: .high,
                                    plant: "baotou-steel", equipment: "co-\(n)", activation: 1, ordinal: 1, signals: ["co"],
                                    basis: "令10 第四条(六)", message: "一氧化碳", eventTime: EventTime(milliseconds: 0), configHash: "sha256:x"),
                  emittedAt: EventTime(milliseconds: 0))
}

/// The delivery service on a manual clock. Backing off, a channel sleeps on the clock beside the
/// ringer (`sleepers` 2): each step waits for both. Caught up, it waits for events: each step waits
/// until the channel has looked at the clock's new time (``AlarmDelivery/onIdle``).
private final class Stepper: Sendable {
    let clock: ManualClock
    private let idle = NIOLockedValueBox<(seen: Duration, waiters: [(Duration, CheckedContinuation<Void, Never>)])>((.zero - .seconds(1), []))

    init(clock: ManualClock) { self.clock = clock }

    /// For ``AlarmDelivery/onIdle``: the channel is idle at the clock's time now.
    func channelIdle() {
        let now = clock.elapsed
        let ready = idle.withLockedValue { s -> [CheckedContinuation<Void, Never>] in
            s.seen = max(s.seen, now)
            let due = s.waiters.filter { $0.0 <= now }.map(\.1)
            s.waiters.removeAll { $0.0 <= now }
            return due
        }
        for c in ready { c.resume() }
    }

    private func channelIdle(atLeast t: Duration) async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let now = idle.withLockedValue { s -> Bool in
                if s.seen >= t { return true }
                s.waiters.append((t, c))
                return false
            }
            if now { c.resume() }
        }
    }

    /// Advances in `step`s until `done` holds (false after `limit` of clock time).
    func advance(until done: () -> Bool, sleepers: Int, idle: Bool = false, step: Duration = .milliseconds(250), limit: Duration) async -> Bool {
        let end = clock.elapsed + limit
        while true {
            if idle {
                await clock.waitForSleepers(sleepers)
                await channelIdle(atLeast: clock.elapsed)
            } else {
                // A channel backing off sleeps on the clock until it delivers; then it waits for
                // events instead, so `done` ends the wait too.
                while clock.sleepers < sleepers, !done() { await Task.yield() }
            }
            if done() { return true }
            if clock.elapsed >= end { return false }
            clock.advance(by: step)
        }
    }
}

@Suite("Delivery on an injected clock: backoff, the failing alarm and heartbeats, with no real waiting")
struct DeliveryClockTests {
    private func service(_ channel: ScriptedChannel, log: EventLog, clock: ManualClock, heartbeat: Duration?,
                         raised: NIOLockedValueBox<[(String, Bool, Duration)]>) throws -> AlarmDelivery {
        try AlarmDelivery(
            channels: [channel], log: log, cursorDirectory: try temporaryDirectory(),
            policy: RetryPolicy(initial: .seconds(1), maximum: .seconds(4), requestTimeout: .seconds(2)),
            heartbeat: heartbeat, heartbeatEvent: HeartbeatSource(boot: 1_700_000_000, configHash: "sha256:x", clock: { clock.wall }),
            failingAlarmAfter: .seconds(60), clock: clock, logger: Logger(label: "test"),
            systemAlarm: { rule, raise, _, _ in raised.withLockedValue { $0.append((rule, raise, clock.elapsed)) } }
        )
    }

    @Test("failing for 60 s on the clock raises webhook-failing (not before); backoff is capped; delivering again clears it")
    func failingAlarmOnTheClock() async throws {
        let clock = ManualClock()
        let channel = ScriptedChannel(failFirst: 30)
        let log = EventLog()
        let raised = NIOLockedValueBox<[(String, Bool, Duration)]>([])
        let delivery = try service(channel, log: log, clock: clock, heartbeat: nil, raised: raised)
        let run = Task { try await delivery.run() }
        defer { run.cancel() }
        log.append([StoredEvent(sequence: 1, envelope: event(1))])
        let stepper = Stepper(clock: clock)
        #expect(await stepper.advance(until: { raised.withLockedValue { !$0.isEmpty } }, sleepers: 2, limit: .seconds(120)))
        let first = try #require(raised.withLockedValue { $0.first })
        #expect(first.0 == "webhook-failing" && first.1)
        // Raised at the first failed attempt at or past 60 s: within one capped backoff (4 s) of it.
        #expect(first.2 >= .seconds(60) && first.2 <= .seconds(65), "raised at \(first.2)")
        #expect(channel.delivered.isEmpty && channel.attempts < 30)
        // Delivered at last: the channel clears the alarm in the same turn.
        #expect(await stepper.advance(until: { !channel.delivered.isEmpty && raised.withLockedValue { $0.count == 2 } }, sleepers: 2,
                                      limit: .seconds(200)))
        #expect(raised.withLockedValue { $0.last.map { $0.0 == "webhook-failing" && !$0.1 } } == true)
        #expect(delivery.pending == 0)
    }

    @Test("a caught-up channel gets a heartbeat every interval on the clock, none before; an event resets the interval")
    func heartbeatOnTheClock() async throws {
        let clock = ManualClock()
        let channel = ScriptedChannel(failFirst: 0)
        let log = EventLog()
        let raised = NIOLockedValueBox<[(String, Bool, Duration)]>([])
        let delivery = try service(channel, log: log, clock: clock, heartbeat: .seconds(30), raised: raised)
        let stepper = Stepper(clock: clock)
        delivery.onIdle = { _ in stepper.channelIdle() }
        let run = Task { try await delivery.run() }
        defer { run.cancel() }
        let beats = { channel.delivered.filter { $0.event.kind == .heartbeat } }
        #expect(await stepper.advance(until: { !beats().isEmpty }, sleepers: 1, idle: true, step: .seconds(1), limit: .seconds(29)) == false)
        #expect(await stepper.advance(until: { beats().count == 1 }, sleepers: 1, idle: true, step: .seconds(1), limit: .seconds(2)))
        #expect(clock.elapsed == .seconds(30) && beats()[0].event.eventTime == clock.wall, "stamped with the clock's wall time")
        // An alarm at 40 s: the next heartbeat is due 30 s after it, not after the last beat.
        log.append([StoredEvent(sequence: 1, envelope: event(1))])
        #expect(await stepper.advance(until: { channel.delivered.count == 2 }, sleepers: 1, idle: true, step: .seconds(1), limit: .seconds(2)))
        let alarmAt = clock.elapsed
        #expect(await stepper.advance(until: { beats().count == 2 }, sleepers: 1, idle: true, step: .seconds(1), limit: .seconds(60)))
        #expect(clock.elapsed - alarmAt == .seconds(30), "\(clock.elapsed - alarmAt)")
        #expect(beats().map(\.event.ordinal) == [1, 2], "alarm at \(alarmAt), now \(clock.elapsed), delivered \(channel.delivered.map { "\($0.event.kind.rawValue)@\($0.event.eventTime.milliseconds)" }), sleepers \(clock.sleepers)")
    }
}
