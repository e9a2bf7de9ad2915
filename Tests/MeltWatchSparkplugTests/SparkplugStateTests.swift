import Foundation
import MeltWatchCore
import MeltWatchDecode
import Testing

@testable import MeltWatchSparkplug

@Suite("Sparkplug host: state across a restart or reload")
struct SparkplugStateTests {
    private func ms(_ n: Int64) -> EventTime { SP.t0.adding(milliseconds: n) }

    @Test("encodeState then restoreState continues the sessions: aliases, bdSeq, seq, gap, rebirth time")
    func roundTrip() throws {
        let before = HostFixture.born()
        _ = before.send(.nodeBirth, edge: "EON-2", SP.nodeBirth(bdSeq: 4))
        _ = before.send(.nodeData, SP.data(seq: 4, [SP.byAlias(1, .number(4))]), at: ms(1_000)) // 2, 3 missing
        _ = before.send(.nodeData, edge: "EON-3", SP.data(seq: 0, []), at: ms(1_500)) // noBirth: asks for a rebirth
        let state = try #require(before.encodeState())

        let after = SP.host()
        try after.restoreState(state)
        #expect(after.encodeState() == state)
        #expect(after.heldMetrics == before.heldMetrics && after.heldNameBytes == before.heldNameBytes)
        // Data by alias is read as before, on the node and the device.
        let device = after.send(.deviceData, device: SP.device, SP.data(seq: 5, [SP.byAlias(11, .number(7)), SP.byAlias(12, .bool(false))]), at: ms(1_600))
        #expect(device.readings == [
            Reading(signal: SP.outletFlow, value: .number(7), time: SP.t0),
            Reading(signal: SP.running, value: .bool(false), time: SP.t0),
        ])
        #expect(after.send(.nodeData, edge: "EON-2", SP.data(seq: 1, [SP.byAlias(1, .number(5))]), at: ms(1_600)).readings.map(\.signal) == [SP.otherEdge])
        // The gap from before the restart still times out, from when it began.
        #expect(after.tickCommands(at: ms(2_999)).isEmpty)
        #expect(after.tickCommands(at: ms(3_000)) == [rebirthTopic()])
        // EON-3's request at 1 500 still holds back another until 6 500.
        #expect(after.send(.nodeData, edge: "EON-3", SP.data(seq: 1, []), at: ms(6_499)).effects.commands.isEmpty)
        // bdSeq: a stale death is still told apart.
        #expect(after.send(.nodeDeath, edge: "EON-2", SparkplugPayloads.nodeDeath(bdSeq: 3)).reason == .staleDeath)
        #expect(after.send(.nodeDeath, edge: "EON-2", SparkplugPayloads.nodeDeath(bdSeq: 4)).effects.losses.map(\.signal) == [SP.otherEdge])
    }

    @Test("a state restores under other bindings: signals are resolved by name at restore")
    func restoreUnderNewBindings() throws {
        let before = HostFixture.born()
        let state = try #require(before.encodeState())
        let rebound = try SparkplugHost(groupID: SP.group, bindings: [
            SparkplugBinding(edge: SP.edge, device: SP.device, metric: "outlet_flow", signal: SignalID(40)),
            SparkplugBinding(edge: SP.edge, metric: "Uptime", signal: SignalID(41)),
        ])
        try rebound.restoreState(state)
        let sent = rebound.send(.deviceData, device: SP.device, SP.data(seq: 2, [SP.byAlias(10, .number(1), datatype: .float), SP.byAlias(11, .number(2))]))
        #expect(sent.readings.map(\.signal) == [SignalID(40)])
        #expect(sent.outcome?.unknownTags == 1)
        var out: [Reading] = []
        var effects = GatewayEffects()
        _ = Array(SparkplugMessageType.nodeData.topic(group: SP.group, edge: SP.edge).utf8).withUnsafeBytes { t in
            SP.data(seq: 3, [SP.byAlias(2, .number(99), datatype: .int64)]).withUnsafeBytes { p in
                rebound.decode(topic: t, payload: p, now: SP.t0, into: &out, effects: &effects)
            }
        }
        #expect(out == [Reading(signal: SignalID(41), value: .number(99), time: SP.t0)])
    }

    @Test("an empty host has a state too, and it restores to nothing")
    func emptyState() throws {
        let state = try #require(SP.host().encodeState())
        let host = HostFixture.born()
        try host.restoreState(state)
        #expect(host.nodes.isEmpty && host.heldMetrics == 0)
        #expect(host.send(.nodeData, SP.data(seq: 2, [SP.byAlias(1, .number(1))])).reason == .noBirth)
    }

    @Test("garbage, another group's or an inconsistent state is refused and the host keeps its own", arguments: [
        Array("not json".utf8),
        [],
        Array(#"{"format":"meltwatch.sparkplug-host/1","group":"Other","nodes":[]}"#.utf8),
        Array(#"{"format":"meltwatch.sparkplug-host/2","group":"Baotou","nodes":[]}"#.utf8),
        Array(#"{"format":"meltwatch.sparkplug-host/1","group":"Baotou","nodes":[{"edge":"E","session":{"lastSeq":0,"missing":[],"disorder":false,"metrics":[{"name":"a","alias":1,"datatype":9},{"name":"b","alias":1,"datatype":9}],"devices":[]}}]}"#.utf8),
        Array(#"{"format":"meltwatch.sparkplug-host/1","group":"Baotou","nodes":[{"edge":"E","session":{"lastSeq":300,"missing":[],"disorder":false,"metrics":[],"devices":[]}}]}"#.utf8),
        Array(#"{"format":"meltwatch.sparkplug-host/1","group":"Baotou","nodes":[{"edge":"E","session":{"lastSeq":0,"missing":[],"disorder":false,"metrics":[{"name":"a","alias":1,"datatype":9}],"devices":[{"name":"D","metrics":[{"name":"x","alias":1,"datatype":9}]}]}}]}"#.utf8),
        Array(#"{"format":"meltwatch.sparkplug-host/1","group":"Baotou","nodes":[{"edge":"E"},{"edge":"E"}]}"#.utf8),
    ])
    func badState(_ bytes: [UInt8]) {
        let host = HostFixture.born()
        let before = host.encodeState()
        #expect(throws: DecodeError.self) { try host.restoreState(bytes) }
        #expect(host.encodeState() == before)
        #expect(host.send(.nodeData, SP.data(seq: 2, [SP.byAlias(1, .number(6))])).values == [.number(6)])
    }

    @Test("the state is deterministic: the same sessions give the same bytes")
    func deterministic() {
        let a = HostFixture.born()
        let b = HostFixture.born()
        _ = a.send(.nodeBirth, edge: "Z", SP.nodeBirth())
        _ = a.send(.nodeBirth, edge: "Y", SP.nodeBirth())
        _ = b.send(.nodeBirth, edge: "Y", SP.nodeBirth())
        _ = b.send(.nodeBirth, edge: "Z", SP.nodeBirth())
        #expect(a.encodeState() == b.encodeState())
    }
}

/// Writes the fuzz target's seed inputs when `MELTWATCH_WRITE_SPARKPLUG_SEEDS` names a directory:
/// the first byte selects the message type (see `Fuzz/Sources/fuzz-sparkplug`), the rest is the payload.
@Suite("Sparkplug fuzz seeds")
struct SparkplugSeeds {
    @Test("write the fuzz-sparkplug seed corpus", .enabled(if: ProcessInfo.processInfo.environment["MELTWATCH_WRITE_SPARKPLUG_SEEDS"] != nil))
    func writeSeeds() throws {
        let dir = URL(fileURLWithPath: try #require(ProcessInfo.processInfo.environment["MELTWATCH_WRITE_SPARKPLUG_SEEDS"]))
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let t = SP.t0
        // The fuzz target's bindings: node metrics "n1", "n2"; device metrics "d1", "d2", "d3".
        let nodeMetrics = [
            SparkplugMetric(name: "n1", alias: 1, datatype: .double, value: .number(230.5)),
            SparkplugMetric(name: "n2", alias: 2, datatype: .int16, value: .number(-7)),
            SparkplugMetric(name: "text", alias: 3, datatype: .string, value: nil, text: "hello"),
        ]
        let deviceMetrics = [
            SparkplugMetric(name: "d1", alias: 10, datatype: .float, value: .number(120.5)),
            SparkplugMetric(name: "d2", alias: 11, datatype: .boolean, value: .bool(true)),
            SparkplugMetric(name: "d3", alias: 12, datatype: .uint64, value: nil),
            SparkplugMetric(name: "other", alias: 13, datatype: .dateTime, value: .number(1_763_884_800_000)),
        ]
        let seeds: [(String, UInt8, [UInt8])] = [
            ("nbirth", 0, SparkplugPayloads.nodeBirth(timestamp: t, bdSeq: 3, metrics: nodeMetrics)),
            ("dbirth", 1, SparkplugPayloads.deviceBirth(timestamp: t, seq: 1, metrics: deviceMetrics)),
            ("ndata", 2, SparkplugPayloads.data(timestamp: t, seq: 2, metrics: [
                SparkplugMetric(alias: 1, datatype: .double, value: .number(231)), SparkplugMetric(alias: 2, datatype: .int16, value: nil, sendsDatatype: false),
            ])),
            ("ddata", 3, SparkplugPayloads.data(timestamp: t, seq: 3, metrics: [
                SparkplugMetric(alias: 10, datatype: .float, value: .number(1), timestamp: t.adding(milliseconds: -60_000), isHistorical: true),
                SparkplugMetric(alias: 11, datatype: .boolean, value: .bool(false), sendsDatatype: false), SparkplugMetric(name: "d3", datatype: .uint64, value: .number(5)),
            ])),
            ("ndeath", 4, SparkplugPayloads.nodeDeath(bdSeq: 3, timestamp: t)),
            ("ddeath", 5, SparkplugPayloads.deviceDeath(timestamp: t, seq: 4)),
            ("ddata-unknown-alias", 3, SparkplugPayloads.data(timestamp: t, seq: 5, metrics: [SparkplugMetric(alias: 99, datatype: .double, value: .number(1))])),
            ("ndata-gap", 2, SparkplugPayloads.data(timestamp: t, seq: 200, metrics: [SparkplugMetric(alias: 1, datatype: .double, value: .number(2))])),
            ("dbirth-template", 1, {
                var template = SparkplugBPayload.Template()
                template.metrics = [SP.wireMetric(name: "inner", datatype: .int8, .intValue(0xFFFF_FFFB))]
                return SP.wire(seq: 6, [SP.wireMetric(name: "d1", alias: 10, datatype: .template, .templateValue(template))])
            }()),
        ]
        for (name, type, payload) in seeds {
            try Data([type] + payload).write(to: dir.appendingPathComponent("seed-\(name)"))
        }
    }
}
