import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import MeltWatchAlarms
import MeltWatchCore
import MeltWatchHazards
import MeltWatchTestKit
import NIOConcurrencyHelpers
import NIOCore
import Testing

@testable import MeltWatchDuty

private func t(_ s: Int64) -> EventTime { EventTime(milliseconds: 1_763_884_800_000 + s * 1000) }

private func raised(_ rule: String, eq: String, at s: Int64, priority: AlarmEvent.Priority = .high) -> AlarmEvent {
    AlarmEvent(kind: .raised, state: .activeUnacked, alarmClass: .process, rule: rule, priority: priority, plant: "baotou-steel",
               equipment: eq, activation: 1, ordinal: 1, signals: ["co"], value: 80, limit: 24, unit: "ppm", basis: "令10 第四条(六)",
               message: "一氧化碳 80 ppm ≥ 24 ppm", eventTime: t(s), configHash: "sha256:rules")
}

/// A backend holding a real alarm book and hazard desk; actions go through them as the engine thread
/// would, and the desk's changes into a dictionary as into the store.
private final class BookBackend: DutyBackend {
    private let state: NIOLockedValueBox<AlarmBook>
    private let desk: NIOLockedValueBox<(desk: HazardDesk, stored: [String: Hazard])>
    let events = EventLog()

    init() {
        var book = AlarmBook(settings: .init(escalateAfterMilliseconds: 0, configHash: "sha256:book"))
        var out = AlarmBook.Output()
        book.tick(t(0), into: &out)
        book.apply(raised("co-level-1", eq: "co-1", at: 1), into: &out)
        book.apply(raised("co-level-2", eq: "co-2", at: 2, priority: .emergency), into: &out)
        _ = book.perform(.outOfService(plant: "baotou-steel", equipment: "co-3", operator: "张三", reason: "标定", hours: 2), at: t(3), into: &out)
        state = NIOLockedValueBox(book)
        var hazards = HazardDesk()
        var changes = HazardDesk.Output()
        hazards.observe(AlarmEvent(kind: .raised, state: .activeUnacked, alarmClass: .interlock, rule: "interlock-failed", priority: .emergency,
                                   plant: "baotou-steel", equipment: "co-1", activation: 1, ordinal: 1, signals: ["fan_running"],
                                   basis: "令10 第四条(六)", message: "排风机未启动", eventTime: t(1), configHash: "sha256:rules"), into: &changes)
        desk = NIOLockedValueBox((hazards, Dictionary(changes.changed.map { ($0.id, $0) }) { _, b in b }))
    }

    func hazards(status: Hazard.Status?) throws -> [Hazard] {
        desk.withLockedValue { d in d.stored.values.filter { status == nil || $0.status == status }.sorted { $0.id < $1.id } }
    }
    func hazard(id: String) throws -> Hazard? { desk.withLockedValue { $0.stored[id] } }

    var book: AlarmBook { state.withLockedValue { $0 } }
    var plantNames: [String: String] { ["baotou-steel": "包头钢铁 一炼钢"] }
    func hasEquipment(plant: String, equipment: String) -> Bool { plant == "baotou-steel" && equipment.hasPrefix("co-") }
    func perform(_ action: AlarmAction) async -> Result<AlarmRecord?, AlarmActionError> {
        if case .hazard(let step) = action {
            return desk.withLockedValue { d in
                var out = HazardDesk.Output()
                let result = d.desk.perform(step, at: t(10), into: &out)
                for h in out.changed { d.stored[h.id] = h }
                switch result {
                case .success: return .success(nil)
                case .failure(let f): return .failure(AlarmActionError(f.code == .conflict ? .conflict : f.code == .notFound ? .notFound : .invalid, f.message))
                }
            }
        }
        return state.withLockedValue { book in
            var out = AlarmBook.Output()
            return book.perform(action, at: t(10), into: &out)
        }
    }
    var signals: [DutySignal] {
        [DutySignal(plant: "baotou-steel", equipment: "co-1", role: "co", topic: "plants/baotou-steel/co-1/co", value: .number(80),
                    quality: .good, eventTime: t(1), health: "ok"),
         DutySignal(plant: "baotou-steel", equipment: "co-2", role: "co", topic: nil, value: nil, quality: .good, eventTime: nil, health: "unknown")]
    }
    var status: DutyStatus {
        DutyStatus(version: "1.2.3", configHash: "sha256:cfg", startedAt: t(0), plants: [.init(id: "baotou-steel", name: "包头钢铁 一炼钢")], ready: true)
    }
    var readiness: Readiness { Readiness(checks: [("broker", false, "mqtt://127.0.0.1:1")]) }
    var metrics: String { "meltwatch_readings_total 7\n" }

    func application() -> some ApplicationProtocol {
        DutyServer.application(host: "127.0.0.1", port: 0, backend: self,
                               settings: DutySettings(tokens: OperatorTokenStore(path: nil, tokens: nil), logger: Logger(label: "duty-test")))
    }
}

private func object(_ body: ByteBuffer) throws -> [String: Any] {
    try #require(try JSONSerialization.jsonObject(with: Data(body.readableBytesView)) as? [String: Any])
}

private func array(_ body: ByteBuffer) throws -> [[String: Any]] {
    try #require(try JSONSerialization.jsonObject(with: Data(body.readableBytesView)) as? [[String: Any]])
}

@Suite("The duty API renders the backend's values (contract §5): a real book behind the router, no daemon")
struct DutyRouterTests {
    @Test("alarms: emergency first, with the plant's name and the lifecycle fields; one alarm by its encoded id; unknown ones 404")
    func alarms() async throws {
        let backend = BookBackend()
        try await backend.application().test(.live) { client in
            let list = try array(try await client.execute(uri: "/api/alarms", method: .get).body)
            #expect(list.map { $0["alarm_id"] as? String } == ["baotou-steel:co-2:co-level-2:1", "baotou-steel:co-1:co-level-1:1"])
            #expect(list[1]["plant_name"] as? String == "包头钢铁 一炼钢" && list[1]["state"] as? String == "active-unacked")
            #expect(list[1]["reactivations"] as? Int == 0 && list[1]["folded_transitions"] as? Int == 0)
            let one = try await client.execute(uri: "/api/alarms/baotou-steel%3Aco-1%3Aco-level-1%3A1", method: .get)
            let oneAlarm = try object(one.body)
            #expect(one.status == .ok && oneAlarm["value"] as? Double == 80)
            let missing = try await client.execute(uri: "/api/alarms/nope", method: .get)
            let problem = try object(missing.body)
            #expect(missing.status == .notFound && problem["error"] as? String == "no alarm nope")
            let bad = try await client.execute(uri: "/api/alarms?state=closed", method: .get)
            #expect(bad.status == .badRequest)
        }
    }

    @Test("an acknowledgement answers with the alarm as the book holds it after, named by operator")
    func acknowledgementAnswersTheAlarm() async throws {
        let backend = BookBackend()
        try await backend.application().test(.live) { client in
            let r = try await client.execute(uri: "/api/alarms/baotou-steel%3Aco-1%3Aco-level-1%3A1/ack", method: .post,
                                             headers: [.contentType: "application/json"], body: ByteBuffer(string: #"{"operator":"王五"}"#))
            let alarm = try object(r.body)
            #expect(r.status == .ok && alarm["state"] as? String == "active-acked" && alarm["acknowledged_by"] as? String == "王五")
            let again = try await client.execute(uri: "/api/alarms/baotou-steel%3Aco-1%3Aco-level-1%3A1/ack", method: .post,
                                                 headers: [.contentType: "application/json"], body: ByteBuffer(string: #"{"operator":"王五"}"#))
            #expect(again.status == .conflict)
        }
    }

    @Test("equipment out of service, signals, status, metrics and readiness are the backend's values")
    func readEndpoints() async throws {
        let backend = BookBackend()
        try await backend.application().test(.live) { client in
            let oos = try array(try await client.execute(uri: "/api/equipment?state=out-of-service", method: .get).body)
            #expect(oos.count == 1 && oos[0]["equipment"] as? String == "co-3" && oos[0]["operator"] as? String == "张三"
                && oos[0]["until"] as? String == t(3 + 7200).rfc3339)
            let signals = try array(try await client.execute(uri: "/api/signals", method: .get).body)
            #expect(signals[0]["value"] as? Double == 80 && signals[0]["quality"] as? String == "good")
            #expect(signals[1]["value"] is NSNull && signals[1]["quality"] is NSNull && signals[1]["health"] as? String == "unknown")
            let status = try object(try await client.execute(uri: "/api/status", method: .get).body)
            #expect(status["version"] as? String == "1.2.3" && status["ready"] as? Bool == true)
            let metrics = try await client.execute(uri: "/metrics", method: .get)
            #expect(String(buffer: metrics.body) == "meltwatch_readings_total 7\n")
            let ready = try await client.execute(uri: "/readyz", method: .get)
            #expect(ready.status == .serviceUnavailable && String(buffer: ready.body).contains("FAIL broker"))
        }
    }

    @Test("hazards: listed and shown; a rectification, a submission, then a close without evidence refused (409); steps on a closed record refused")
    func hazardLifecycle() async throws {
        let backend = BookBackend()
        let json: HTTPFields = [.contentType: "application/json"]
        try await backend.application().test(.live) { client in
            let list = try array(try await client.execute(uri: "/api/hazards?status=open", method: .get).body)
            #expect(list.count == 1 && list[0]["class"] as? String == "major" && list[0]["rule"] as? String == "interlock-failed")
            let id = try #require(list[0]["id"] as? String)
            #expect(id == "HZ-baotou-steel-2025-001")  // t(1) lies in November 2025
            #expect(try await client.execute(uri: "/api/hazards?status=fixed", method: .get).status == .badRequest)
            #expect(try await client.execute(uri: "/api/hazards/HZ-none", method: .get).status == .notFound)

            let base = "/api/hazards/\(id)"
            let badDeadline = try await client.execute(uri: base + "/rectification", method: .post, headers: json, body: ByteBuffer(string:
                #"{"operator":"王五","responsible":"王五","measures":"更换风机接触器","funds":"5000元","deadline":"next week","plan":"停机检修"}"#))
            #expect(badDeadline.status == .badRequest)
            let rectified = try await client.execute(uri: base + "/rectification", method: .post, headers: json, body: ByteBuffer(string:
                #"{"operator":"王五","responsible":"王五","measures":"更换风机接触器","funds":"5000元","deadline":"2026-12-10","plan":"停机检修"}"#))
            let r = try object(rectified.body)
            #expect(rectified.status == .ok && r["status"] as? String == "rectifying")
            let rect = try #require(r["rectification"] as? [String: Any])
            #expect(rect["deadline"] as? String == "2026-12-10T16:00:00.000Z")  // 24:00 Beijing
            let submitted = try await client.execute(uri: base + "/submit", method: .post, headers: json, body: ByteBuffer(string: #"{"operator":"王五"}"#))
            #expect(try object(submitted.body)["status"] as? String == "awaiting-verification")
            let refused = try await client.execute(uri: base + "/close", method: .post, headers: json, body: ByteBuffer(string: #"{"operator":"王五"}"#))
            #expect(refused.status == .conflict)
            #expect((try object(refused.body)["error"] as? String)?.contains("no evidence from the data") == true)
            // Without tokens nobody is known as a manager: no override.
            let override = try await client.execute(uri: base + "/close", method: .post, headers: json,
                                                    body: ByteBuffer(string: #"{"operator":"王五","override_reason":"已更换"}"#))
            #expect(override.status == .forbidden)
            #expect(try await client.execute(uri: base + "/approve", method: .post, headers: json, body: ByteBuffer(string: #"{"operator":"王五"}"#)).status == .notFound)
            let shown = try object(try await client.execute(uri: base, method: .get).body)
            #expect((shown["history"] as? [Any])?.count == 3)
            #expect(shown["evidence_needed"] as? [String] == ["trip-ok", "proof-test"])
        }
    }
}

@Suite("Server-Sent Events on an injected clock: heartbeats, resume and gaps without waiting")
struct EventStreamTests {
    private func stored(_ n: Int64) -> StoredEvent {
        StoredEvent(sequence: n, envelope: AlarmEnvelope(event: raised("co-level-1", eq: "co-\(n)", at: n), emittedAt: t(n)))
    }

    /// Runs the stream in a task; its chunks arrive on the returned stream in order.
    private func start(_ log: EventLog, resumeAfter: Int64?, clock: ManualClock) -> (Task<Void, any Error>, AsyncStream<String>.AsyncIterator) {
        let (chunks, sink) = AsyncStream.makeStream(of: String.self)
        let task = Task {
            defer { sink.finish() }
            try await EventStream.stream(log: log, resumeAfter: resumeAfter, heartbeat: .seconds(15), clock: clock) { sink.yield($0) }
        }
        return (task, chunks.makeAsyncIterator())
    }

    @Test("a quiet stream gets a heartbeat once the clock passes the period, stamped with the clock's wall time, and not before")
    func heartbeat() async throws {
        let clock = ManualClock()
        let log = EventLog()
        var (task, chunks) = start(log, resumeAfter: nil, clock: clock)
        #expect(await chunks.next() == "retry: 2000\n\n")
        clock.advance(by: .seconds(14))
        log.append([stored(1)])
        #expect(await chunks.next()?.hasPrefix("id: 1\nevent: alarm\n") == true, "an event, not a heartbeat: 14 s < 15 s")
        clock.advance(by: .seconds(15))
        log.ringAll()
        #expect(await chunks.next() == "event: heartbeat\ndata: {\"time\":\"\(clock.wall.rfc3339)\"}\n\n")
        log.endStreams()
        #expect(await chunks.next() == nil)
        try await task.value
    }

    @Test("Last-Event-ID resumes right after it; one older than memory holds is told as a gap, then what is held follows")
    func resumeAndGap() async throws {
        let clock = ManualClock()
        let log = EventLog(retained: 4)
        log.append((1...10).map(stored))
        #expect(log.heldCount <= 6)
        let first = log.recent(after: 0).first!
        var (task, chunks) = start(log, resumeAfter: 1, clock: clock)
        #expect(await chunks.next() == "retry: 2000\n\n")
        #expect(await chunks.next() == "event: gap\ndata: {\"missed_before\":\(first)}\n\n")
        let held = await chunks.next() ?? ""
        #expect(held.hasPrefix("id: \(first)\n") && held.contains("id: 10\n"))
        log.endStreams()
        try await task.value

        var (resumed, again) = start(log, resumeAfter: 8, clock: clock)
        #expect(await again.next() == "retry: 2000\n\n")
        let rest = await again.next() ?? ""
        #expect(rest.hasPrefix("id: 9\n") && rest.contains("id: 10\n") && !rest.contains("gap"))
        _ = try? await resumed.value
    }
}
