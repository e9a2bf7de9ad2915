import Testing

@testable import MeltWatchCore

@Suite("EventTime: RFC 3339 and epoch milliseconds")
struct EventTimeTests {
    @Test("parses RFC 3339 with offsets and fractions, and epoch milliseconds", arguments: [
        ("2026-11-23T08:00:02.000Z", Int64(1_795_420_802_000)),
        ("2026-11-23T16:00:02+08:00", 1_795_420_802_000),
        ("2026-11-23T08:00:02.5Z", 1_795_420_802_500),
        ("2026-11-23T08:00:02.123456Z", 1_795_420_802_123),
        ("2026-11-23t08:00:02z", 1_795_420_802_000),
        ("2026-11-23T03:30:02-04:30", 1_795_420_802_000),
        ("1970-01-01T00:00:00Z", 0),
        ("2024-02-29T00:00:00Z", 1_709_164_800_000),
        ("1795420802000", 1_795_420_802_000),
    ])
    func parses(text: String, ms: Int64) {
        #expect(EventTime(parsing: text)?.milliseconds == ms)
    }

    @Test("rejects malformed times", arguments: [
        "", "2026-11-23", "2026-11-23T08:00:02", "2026-13-01T00:00:00Z", "2026-02-30T00:00:00Z",
        "2025-02-29T00:00:00Z", "2026-11-23T24:00:00Z", "2026-11-23T08:60:00Z", "2026-11-23T08:00:02.Z",
        "2026-11-23T08:00:02+0800", "2026-11-23T08:00:02+08:00x", "x2026-11-23T08:00:02Z", "-5", "12a",
    ])
    func rejects(text: String) {
        #expect(EventTime(parsing: text) == nil)
    }

    @Test("formats UTC with milliseconds and round-trips", arguments: [
        Int64(0), 1_795_420_802_004, 951_782_400_000, -1, 253_402_300_799_999,
    ])
    func roundTrip(ms: Int64) {
        let t = EventTime(milliseconds: ms)
        #expect(t.rfc3339.count == 24)
        #expect(EventTime(parsing: t.rfc3339) == t)
    }

    @Test func formatsContractExample() {
        #expect(EventTime(milliseconds: 1_795_420_802_004).rfc3339 == "2026-11-23T08:00:02.004Z")
    }
}

@Suite("AlarmEvent JSON: contract section 4")
struct AlarmEventTests {
    let event = AlarmEvent(
        kind: .raised, state: .activeUnacked, alarmClass: .process, rule: "flow-difference", priority: .emergency,
        plant: "baotou-steel", equipment: "bof1-lance", activation: 3, ordinal: 1, signals: ["inlet_flow", "outlet_flow"],
        value: 4.1, limit: 3.0, unit: "m3/h", basis: "令10 第四条(四)",
        message: "进出水流量差 4.1 m3/h > 3.0 m3/h (water may be leaking into the furnace)",
        eventTime: EventTime(milliseconds: 1_795_420_802_000), configHash: "sha256:abc"
    )

    @Test("keys in contract order with nulls, ids derived from plant, equipment, rule, activation and ordinal")
    func contractBody() {
        let body = event.jsonBody(emittedAt: EventTime(milliseconds: 1_795_420_802_004))
        #expect(body == """
        {"schema":"meltwatch.alarm/1","event_id":"baotou-steel:bof1-lance:flow-difference:3:1",\
        "alarm_id":"baotou-steel:bof1-lance:flow-difference:3","event":"raised","state":"active-unacked",\
        "class":"process","rule":"flow-difference","priority":"emergency","plant":"baotou-steel",\
        "equipment":"bof1-lance","signals":["inlet_flow","outlet_flow"],"value":4.1,"limit":3.0,"unit":"m3/h",\
        "latency_ms":null,"cause":null,"basis":"令10 第四条(四)",\
        "message":"进出水流量差 4.1 m3/h > 3.0 m3/h (water may be leaking into the furnace)",\
        "event_time":"2026-11-23T08:00:02.000Z","emitted_at":"2026-11-23T08:00:02.004Z",\
        "config_hash":"sha256:abc","operator":null,"note":null}
        """)
    }

    @Test("strings are escaped and non-finite numbers become null")
    func escaping() {
        var e = event
        e.message = "quote \" backslash \\ newline \n tab \t bell \u{7}"
        e.value = .nan
        let body = e.jsonBody(emittedAt: EventTime(milliseconds: 0))
        #expect(body.contains(#""message":"quote \" backslash \\ newline \n tab \t bell \u0007""#))
        #expect(body.contains(#""value":null"#))
    }
}
