import MeltWatchCore
import Testing

@testable import MeltWatchDecode

@Suite("Topic routing table")
struct TopicTableTests {
    @Test("routes signal and equipment topics and lists them in insertion order")
    func routes() throws {
        let table = Fixture.table
        guard case .signal(let id)? = table.route(Fixture.signalTopic) else {
            Issue.record("signal topic not routed to a signal"); return
        }
        #expect(id == Fixture.signal)
        guard case .equipment(let roles)? = table.route(Fixture.equipmentTopic) else {
            Issue.record("equipment topic not routed to an equipment"); return
        }
        #expect(roles.count == 4)
        #expect(roles.signal(forRole: "outlet_flow") == SignalID(2))
        #expect(roles.signal(forRole: "温度") == SignalID(4))
        #expect(roles.signal(forRole: "inlet") == nil)
        #expect(Set(roles.roleNames) == Set(Fixture.roles.keys))
        #expect(table.topics == [Fixture.signalTopic, Fixture.equipmentTopic])
        #expect(table.route("plants/p1/furnace1/") == nil)
        #expect(table.route("plants/p1/furnace") == nil)
    }

    @Test("a topic added twice is a configuration error naming the earlier route")
    func duplicateTopic() throws {
        var table = TopicTable()
        try table.addSignal(topic: "a/b", signal: SignalID(1))
        #expect(throws: TopicTableError.self) { try table.addSignal(topic: "a/b", signal: SignalID(2)) }
        do {
            try table.addEquipment(topic: "a/b", roles: ["x": SignalID(3)])
            Issue.record("duplicate topic accepted")
        } catch {
            #expect(error.code == .duplicateTopic)
            #expect(error.topic == "a/b")
            #expect(error.detail.contains("signal#1"))
        }
        // The failed adds changed nothing.
        #expect(table.topics == ["a/b"])
        guard case .signal(let id)? = table.route("a/b") else { Issue.record("route lost"); return }
        #expect(id == SignalID(1))
    }

    @Test("topics that can never be published are refused",
          arguments: [("", TopicTableError.Code.emptyTopic), ("plants/+/x", .invalidTopic), ("plants/#", .invalidTopic),
                      ("a\u{0}b", .invalidTopic)])
    func invalidTopics(_ topic: String, _ code: TopicTableError.Code) {
        var table = TopicTable()
        do {
            try table.addSignal(topic: topic, signal: SignalID(1))
            Issue.record("accepted \(topic.debugDescription)")
        } catch {
            #expect(error.code == code)
        }
        #expect(table.count == 0)
    }

    @Test("equipment needs at least one role, and no empty role name")
    func badRoles() {
        var table = TopicTable()
        #expect(throws: TopicTableError(code: .noRoles, topic: "e", detail: "equipment has no roles")) {
            try table.addEquipment(topic: "e", roles: [:])
        }
        do {
            try table.addEquipment(topic: "e", roles: ["": SignalID(1), "ok": SignalID(2)])
            Issue.record("empty role accepted")
        } catch {
            #expect(error.code == .emptyRole)
            #expect(error.topic == "e")
        }
        #expect(table.topics.isEmpty)
    }

    @Test("topics compare as bytes, as MQTT does, not by Unicode canonical equivalence")
    func byteWiseTopics() throws {
        let composed = "plants/caf\u{E9}"      // é as one scalar
        let decomposed = "plants/cafe\u{301}"  // e + combining acute: == composed for Swift String
        #expect(composed == decomposed)
        var table = TopicTable()
        try table.addSignal(topic: composed, signal: SignalID(1))
        try table.addSignal(topic: decomposed, signal: SignalID(2))
        guard case .signal(let a)? = table.route(composed), case .signal(let b)? = table.route(decomposed) else {
            Issue.record("not routed"); return
        }
        #expect(a == SignalID(1))
        #expect(b == SignalID(2))
    }

    @Test("decoding with a route the caller holds gives what decoding by topic gives, even once its table is gone")
    func callerHeldRoute() throws {
        let payload = Array(#"{"ts":1763884800123,"values":{"inlet_flow":1.5,"furnace_operating":true,"x":2},"seq":4}"#.utf8)
        // The only reference to these roles is the returned route: the decoder's own table knows nothing of them.
        func detachedRoute() throws -> TopicRoute {
            var t = TopicTable()
            try t.addEquipment(topic: "elsewhere", roles: Fixture.roles)
            return t.route("elsewhere")!
        }
        let route = try detachedRoute()
        var byRoute: [Reading] = []
        let a = payload.withUnsafeBytes { PayloadDecoder(topics: TopicTable()).decode(route: route, payload: $0, now: Fixture.now, into: &byRoute) }
        let b = decode(payload, topic: Fixture.equipmentTopic)
        #expect(try a.get() == b.result.get())
        #expect(byRoute == b.appended && byRoute.count == 2)
    }

    @Test("thousands of topics stay routable through table growth")
    func manyTopics() throws {
        var table = TopicTable()
        for i in 0..<5_000 { try table.addSignal(topic: "plants/p\(i % 7)/eq\(i)/r", signal: SignalID(Int32(i))) }
        #expect(table.count == 5_000)
        for i in stride(from: 0, to: 5_000, by: 37) {
            guard case .signal(let id)? = table.route("plants/p\(i % 7)/eq\(i)/r") else {
                Issue.record("topic \(i) lost"); return
            }
            #expect(id == SignalID(Int32(i)))
        }
        #expect(table.route("plants/p0/eq5000/r") == nil)
    }

    @Test("keys that differ only in their last bytes still spread over the table",
          arguments: [(20, "role_"), (1_000, "plants/p1/furnace1/signal_"), (5_000, "r")])
    func hashSpread(_ count: Int, _ prefix: String) {
        var table = ByteKeyTable()
        for i in 0..<count { #expect(table.insert("\(prefix)\(i)".utf8) == i) }
        // Linear probing at load <= 1/2 with a decent hash keeps the longest chain short; a hash whose
        // low bits ignore the tail (as a plain multiply does) puts these keys into a few long chains.
        // (The hash is unseeded, so these figures are deterministic: 4, 11 and 8 today; without the
        // finalizer they were 10, 25 and 8.)
        #expect(table.longestProbe <= (count <= 64 ? 6 : 16), "longest probe \(table.longestProbe) for \(count) keys")
        for i in stride(from: 0, to: count, by: 7) {
            let key = Array("\(prefix)\(i)".utf8)
            #expect(key.withUnsafeBytes { table.index(of: $0) } == i)
        }
    }
}
