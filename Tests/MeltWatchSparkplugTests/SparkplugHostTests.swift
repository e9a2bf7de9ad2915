import MeltWatchCore
import MeltWatchDecode
import Testing

@testable import MeltWatchSparkplug

@Suite("Sparkplug host: births, data, deaths")
struct SparkplugHostTests {
    @Test("an NBIRTH's values are read, then NDATA by alias")
    func nodeBirthThenDataByAlias() {
        let host = SP.host()
        let birth = host.send(.nodeBirth, SP.nodeBirth(voltage: 230.5))
        // Supply Voltage is bound; bdSeq, Node Control/Rebirth and Uptime are not.
        #expect(birth.outcome == DecodeOutcome(readings: 1, unknownTags: 3))
        #expect(birth.readings == [Reading(signal: SP.voltage, value: .number(230.5), time: SP.t0)])
        #expect(birth.effects.isEmpty)

        let t1 = SP.t0.adding(milliseconds: 1000)
        let data = host.send(.nodeData, SP.data(seq: 1, at: t1, [SP.byAlias(1, .number(231.75))]), at: t1)
        #expect(data.outcome == DecodeOutcome(readings: 1))
        #expect(data.readings == [Reading(signal: SP.voltage, value: .number(231.75), quality: .good, time: t1, sequence: nil)])
        #expect(data.effects.isEmpty)
    }

    @Test("a DBIRTH's values are read, then DDATA by alias and by name")
    func deviceBirthThenData() {
        let host = SP.host()
        _ = host.send(.nodeBirth, SP.nodeBirth())
        let birth = host.send(.deviceBirth, device: SP.device, SP.deviceBirth())
        #expect(birth.outcome == DecodeOutcome(readings: 3, unsupportedMetrics: 1)) // label is a String
        #expect(birth.readings.map(\.signal) == [SP.inletFlow, SP.outletFlow, SP.running])
        #expect(birth.values == [.number(120.5), .number(119.25), .bool(true)])

        let t2 = SP.t0.adding(milliseconds: 2000)
        let data = host.send(.deviceData, device: SP.device, SP.data(seq: 2, at: t2, [
            SP.byAlias(11, .number(118)),
            SP.byAlias(12, .bool(false)),
            SparkplugMetric(name: "inlet_flow", datatype: .float, value: .number(121.5)), // by name, no alias
        ]), at: t2)
        #expect(data.outcome == DecodeOutcome(readings: 3))
        #expect(data.readings == [
            Reading(signal: SP.outletFlow, value: .number(118), time: t2),
            Reading(signal: SP.running, value: .bool(false), time: t2),
            Reading(signal: SP.inletFlow, value: .number(121.5), time: t2),
        ])
    }

    @Test("event time: the metric's timestamp, else the payload's, else now; historical metrics keep theirs")
    func eventTimes() {
        let host = HostFixture.born()
        let now = SP.t0.adding(milliseconds: 60_000)
        let payloadTime = SP.t0.adding(milliseconds: 59_000)
        let old1 = SP.t0.adding(milliseconds: -3_600_000)
        let old2 = SP.t0.adding(milliseconds: -3_599_000)
        let data = host.send(.deviceData, device: SP.device, SP.data(seq: 2, at: payloadTime, [
            SP.byAlias(11, .number(100), at: old1, historical: true),
            SP.byAlias(11, .number(101), at: old2, historical: true),
            SP.byAlias(11, .number(102)),
        ]), at: now)
        #expect(data.readings.map(\.time) == [old1, old2, payloadTime])
        #expect(data.values == [.number(100), .number(101), .number(102)])

        let noTimestamp = SP.wire(timestamp: nil, seq: 3, [SP.wireMetric(alias: 11, .doubleValue(5))])
        #expect(host.send(.deviceData, device: SP.device, noTimestamp, at: now).readings.map(\.time) == [now])
    }

    @Test("a timestamp more than 5 minutes after now rejects the whole message")
    func futureTimestamp() {
        let host = HostFixture.born()
        let late = SP.t0.adding(milliseconds: 300_001)
        let sent = host.send(.deviceData, device: SP.device, SP.data(seq: 2, [SP.byAlias(11, .number(1)), SP.byAlias(12, .bool(true), at: late)]))
        #expect(sent.reason == .futureTimestamp)
        let exactlyFive = host.send(.deviceData, device: SP.device, SP.data(seq: 3, at: SP.t0.adding(milliseconds: 300_000), [SP.byAlias(11, .number(1))]))
        #expect(exactlyFive.outcome?.readings == 1)
        let huge = host.send(.deviceData, device: SP.device, SP.wire(timestamp: .max, seq: 4, [SP.wireMetric(alias: 11, .doubleValue(1))]))
        #expect(huge.reason == .futureTimestamp)
    }

    @Test("DATA before any birth: noBirth, one rebirth request, the next within 5 s suppressed")
    func dataBeforeBirth() throws {
        let host = SP.host()
        let first = host.send(.nodeData, SP.data(seq: 5, [SP.byAlias(1, .number(1))]))
        #expect(first.reason == .noBirth)
        #expect(first.rebirthRequests == [rebirthTopic()])
        let command = try #require(first.effects.commands.first)
        #expect(command.qos == 0 && !command.retain)
        #expect(SparkplugPayloads.isRebirthRequest(command.payload))

        let soon = host.send(.deviceData, device: SP.device, SP.data(seq: 6, [SP.byAlias(10, .number(1))]), at: SP.t0.adding(milliseconds: 4_999))
        #expect(soon.reason == .noBirth)
        #expect(soon.effects.commands.isEmpty)
        let later = host.send(.nodeData, SP.data(seq: 7, [SP.byAlias(1, .number(1))]), at: SP.t0.adding(milliseconds: 5_000))
        #expect(later.rebirthRequests == [rebirthTopic()])
        // Another edge node has its own allowance.
        let other = host.send(.nodeData, edge: "EON-2", SP.data(seq: 1, [SP.byAlias(1, .number(1))]), at: SP.t0.adding(milliseconds: 5_001))
        #expect(other.rebirthRequests == [rebirthTopic("EON-2")])
    }

    @Test("DDATA of a device without a DBIRTH: noBirth and a rebirth request")
    func deviceDataBeforeDeviceBirth() {
        let host = SP.host()
        _ = host.send(.nodeBirth, SP.nodeBirth())
        let sent = host.send(.deviceData, device: SP.otherDevice, SP.data(seq: 1, [SP.byAlias(10, .number(3))]))
        #expect(sent.reason == .noBirth)
        #expect(sent.rebirthRequests == [rebirthTopic()])
    }

    @Test("an unknown alias: the known metrics are read, the unknown counted, a rebirth requested")
    func unknownAliasAmongKnown() {
        let host = HostFixture.born()
        let sent = host.send(.deviceData, device: SP.device, SP.data(seq: 2, [SP.byAlias(99, .number(1)), SP.byAlias(11, .number(42))]))
        #expect(sent.outcome == DecodeOutcome(readings: 1, unknownTags: 1))
        #expect(sent.readings.map(\.signal) == [SP.outletFlow])
        #expect(sent.rebirthRequests == [rebirthTopic()])
    }

    @Test("a message of unknown aliases only is rejected (unknownAlias) and asks for a rebirth")
    func onlyUnknownAliases() {
        let host = HostFixture.born()
        let sent = host.send(.deviceData, device: SP.device, SP.data(seq: 2, [SP.byAlias(99, .number(1)), SP.byAlias(98, .number(2))]))
        #expect(sent.reason == .unknownAlias)
        #expect(sent.rebirthRequests == [rebirthTopic()])
        // An unknown name is the same as an unknown alias.
        let named = host.send(.deviceData, device: SP.device, SP.data(seq: 3, at: SP.t0, [SparkplugMetric(name: "nope", datatype: .double, value: .number(1))]),
                              at: SP.t0.adding(milliseconds: 5000))
        #expect(named.reason == .unknownAlias)
        #expect(named.rebirthRequests == [rebirthTopic()])
    }

    @Test("an alias is never read as another scope's metric or under another name")
    func aliasStaysInItsScope() {
        let host = HostFixture.born()
        // Alias 1 is the node's Supply Voltage: in BOF1's DDATA it is unknown.
        let wrongScope = host.send(.deviceData, device: SP.device, SP.data(seq: 2, [SP.byAlias(1, .number(5))]))
        #expect(wrongScope.reason == .unknownAlias)
        // Alias 11 is outlet_flow; given with another name it is not trusted.
        let wrongName = host.send(.deviceData, device: SP.device, SP.data(seq: 3, [SparkplugMetric(name: "inlet_flow", alias: 11, datatype: .double, value: .number(5), sendsDatatype: false)]))
        #expect(wrongName.reason == .unknownAlias)
        // With its own name it is read.
        let rightName = host.send(.deviceData, device: SP.device, SP.data(seq: 4, [SparkplugMetric(name: "outlet_flow", alias: 11, datatype: .double, value: .number(5), sendsDatatype: false)]))
        #expect(rightName.readings.map(\.signal) == [SP.outletFlow])
    }

    @Test("a datatype in DATA other than the birth's: wrongType, the message rejected whole, a rebirth requested")
    func dataDatatypeDisagrees() {
        let host = HostFixture.born()
        let sent = host.send(.deviceData, device: SP.device, SP.data(seq: 2, [SP.byAlias(11, .number(1)), SP.byAlias(12, .number(1), datatype: .double)]))
        #expect(sent.reason == .wrongType)
        #expect(sent.rebirthRequests == [rebirthTopic()])
        // The same type spelled out is fine.
        let same = host.send(.deviceData, device: SP.device, SP.data(seq: 3, [SP.byAlias(11, .number(1), datatype: .double)]), at: SP.t0.adding(milliseconds: 10))
        #expect(same.outcome?.readings == 1)
    }

    @Test("NDEATH with the session's bdSeq: every signal bound under the node is lost, the session ends")
    func nodeDeath() {
        let host = SP.host()
        _ = host.send(.nodeBirth, SP.nodeBirth(bdSeq: 7))
        _ = host.send(.deviceBirth, device: SP.device, SP.deviceBirth())
        let at = SP.t0.adding(milliseconds: 9000)
        let death = host.send(.nodeDeath, SparkplugPayloads.nodeDeath(bdSeq: 7, timestamp: SP.t0.adding(milliseconds: -86_400_000)), at: at)
        #expect(death.outcome == DecodeOutcome(readings: 0))
        // The node's, BOF1's, BOF2's and BOF3's (never born) bound signals; not EON-2's.
        #expect(Set(death.effects.losses.map(\.signal)) == [SP.voltage, SP.inletFlow, SP.outletFlow, SP.running, SP.otherFlow, SP.neverBorn, SP.label])
        #expect(death.effects.losses.count == 7)
        #expect(death.effects.losses.allSatisfy { $0.time == at && $0.cause == .nodeDeath })
        #expect(death.effects.commands.isEmpty)
        // The session is over: DATA needs a new birth.
        #expect(host.send(.nodeData, SP.data(seq: 3, [SP.byAlias(1, .number(1))]), at: at).reason == .noBirth)
        // A second NDEATH finds no session: nothing to do.
        let again = host.send(.nodeDeath, SparkplugPayloads.nodeDeath(bdSeq: 7), at: at)
        #expect(again.outcome == DecodeOutcome(readings: 0))
        #expect(again.effects.losses.isEmpty)
    }

    @Test("NDEATH with another bdSeq is stale: rejected, nothing lost, the session goes on")
    func staleNodeDeath() {
        let host = SP.host()
        _ = host.send(.nodeBirth, SP.nodeBirth(bdSeq: 7))
        let death = host.send(.nodeDeath, SparkplugPayloads.nodeDeath(bdSeq: 6))
        #expect(death.reason == .staleDeath)
        #expect(death.effects.isEmpty)
        let data = host.send(.nodeData, SP.data(seq: 1, [SP.byAlias(1, .number(3))]))
        #expect(data.readings == [Reading(signal: SP.voltage, value: .number(3), time: SP.t0)])
    }

    @Test("DDEATH: only that device's signals are lost; the node and other devices go on")
    func deviceDeath() {
        let host = HostFixture.born()
        _ = host.send(.deviceBirth, device: SP.otherDevice, SparkplugPayloads.deviceBirth(timestamp: SP.t0, seq: 2, metrics: [
            SparkplugMetric(name: "inlet_flow", alias: 20, datatype: .double, value: .number(50)),
        ]))
        let death = host.send(.deviceDeath, device: SP.device, SparkplugPayloads.deviceDeath(timestamp: SP.t0, seq: 3))
        #expect(death.outcome == DecodeOutcome(readings: 0))
        #expect(Set(death.effects.losses.map(\.signal)) == [SP.inletFlow, SP.outletFlow, SP.running, SP.label])
        #expect(death.effects.losses.allSatisfy { $0.cause == .deviceDeath })
        #expect(host.send(.deviceData, device: SP.device, SP.data(seq: 4, [SP.byAlias(11, .number(1))])).reason == .noBirth)
        // DDEATH counted in seq: 5 follows without a gap.
        let other = host.send(.deviceData, device: SP.otherDevice, SP.data(seq: 5, [SP.byAlias(20, .number(51))]))
        #expect(other.readings.map(\.signal) == [SP.otherFlow])
        #expect(host.send(.nodeData, SP.data(seq: 6, [SP.byAlias(1, .number(1))])).readings.map(\.signal) == [SP.voltage])
        #expect(host.tickCommands(at: SP.t0.adding(milliseconds: 60_000)).isEmpty)
    }

    @Test("a new NBIRTH replaces the session: an alias's new datatype is used, old devices are gone")
    func rebirthChangesType() {
        let host = HostFixture.born()
        let rebirth = SparkplugPayloads.nodeBirth(timestamp: SP.t0, bdSeq: 1, metrics: [
            SparkplugMetric(name: "Supply Voltage", alias: 1, datatype: .boolean, value: .bool(true)),
        ])
        #expect(host.send(.nodeBirth, rebirth).values == [.bool(true)])
        let data = host.send(.nodeData, SP.wire(seq: 1, [SP.wireMetric(alias: 1, .booleanValue(false))]))
        #expect(data.values == [.bool(false)])
        // The old type no longer fits.
        #expect(host.send(.nodeData, SP.wire(seq: 2, [SP.wireMetric(alias: 1, .doubleValue(1))])).reason == .wrongType)
        // BOF1 was born in the old session.
        #expect(host.send(.deviceData, device: SP.device, SP.data(seq: 3, [SP.byAlias(11, .number(1))])).reason == .noBirth)
    }

    @Test("an unbound metric is counted under unknownTags, a bound String metric under unsupportedMetrics")
    func unboundAndUnsupported() {
        let host = HostFixture.born()
        let sent = host.send(.nodeData, SP.data(seq: 2, [SP.byAlias(2, .number(8), datatype: .int64)]))
        #expect(sent.outcome == DecodeOutcome(readings: 0, unknownTags: 1))
        let label = host.send(.deviceData, device: SP.device, SP.wire(seq: 3, [SP.wireMetric(alias: 13, .stringValue("BOF one"))]))
        #expect(label.outcome == DecodeOutcome(readings: 0, unsupportedMetrics: 1))
    }

    @Test("NCMD, DCMD and STATE are ignored; other groups and malformed topics are badTopic")
    func topics() {
        let host = HostFixture.born()
        let rebirth = SparkplugPayloads.rebirthRequest(timestamp: SP.t0)
        #expect(host.send(.nodeCommand, rebirth).outcome == DecodeOutcome(readings: 0))
        #expect(host.send(.deviceCommand, device: SP.device, [0xFF, 0xFF]).outcome == DecodeOutcome(readings: 0))
        #expect(host.send(.nodeData, Array(#"{"online":true,"timestamp":1}"#.utf8), topic: "spBv1.0/STATE/meltwatch-1").outcome == DecodeOutcome(readings: 0))
        let nodeData = SP.data(seq: 2, [SP.byAlias(1, .number(1))])
        for topic in [
            "spBv1.0/Other/NDATA/EON-1", "spBv1.0/Baotou/NDATA", "spBv1.0/Baotou/NDATA/EON-1/extra", "spBv1.0/Baotou/DDATA/EON-1",
            "spBv1.0/Baotou/NDATA/", "spBv1.0/Baotou/DDATA/EON-1/", "spBv1.0/Baotou/XDATA/EON-1", "spAv1.0/Baotou/NDATA/EON-1",
            "spBv1.0", "", "spBv1.0/Baotou/ndata/EON-1",
        ] {
            #expect(host.send(.nodeData, nodeData, topic: topic).reason == .badTopic, "\(topic)")
        }
        var invalid = Array("spBv1.0/Baotou/NDATA/EON-".utf8)
        invalid.append(0xFF)
        let result = invalid.withUnsafeBytes { t in
            nodeData.withUnsafeBytes { p in
                var out: [Reading] = []
                var effects = GatewayEffects()
                return host.decode(topic: t, payload: p, now: SP.t0, into: &out, effects: &effects)
            }
        }
        #expect((try? result.get()) == nil)
        // Nothing above touched the session: seq 2 is still the next.
        #expect(host.send(.nodeData, nodeData).readings.map(\.signal) == [SP.voltage])
        #expect(host.tickCommands(at: SP.t0.adding(milliseconds: 60_000)).isEmpty)
    }

    @Test("bindings: a metric bound twice, or malformed levels, are configuration errors")
    func bindingErrors() {
        let twice = [
            SparkplugBinding(edge: "E", device: "D", metric: "m", signal: SignalID(1)),
            SparkplugBinding(edge: "E", device: "D", metric: "m", signal: SignalID(2)),
        ]
        #expect(throws: TopicTableError.self) { try SparkplugHost(groupID: "G", bindings: twice) }
        // The same name on the node and on a device are different metrics.
        let distinct = [
            SparkplugBinding(edge: "E", metric: "m", signal: SignalID(1)),
            SparkplugBinding(edge: "E", device: "D", metric: "m", signal: SignalID(2)),
        ]
        #expect(throws: Never.self) { try SparkplugHost(groupID: "G", bindings: distinct) }
        #expect(throws: TopicTableError.self) { try SparkplugHost(groupID: "G/H", bindings: []) }
        #expect(throws: TopicTableError.self) { try SparkplugHost(groupID: "G", bindings: [SparkplugBinding(edge: "E+", metric: "m", signal: SignalID(1))]) }
        #expect(throws: TopicTableError.self) { try SparkplugHost(groupID: "G", bindings: [SparkplugBinding(edge: "E", device: "", metric: "m", signal: SignalID(1))]) }
        #expect(throws: TopicTableError.self) { try SparkplugHost(groupID: "G", bindings: [SparkplugBinding(edge: "E", metric: "", signal: SignalID(1))]) }
        #expect((try? SparkplugHost(groupID: "G", bindings: []))?.formatName == "sparkplug-b")
    }
}

/// Hosts in a known state for the tests.
enum HostFixture {
    /// Born with the node birth (seq 0) and BOF1's birth (seq 1): the next seq is 2.
    static func born(limits: SparkplugLimits = SparkplugLimits()) -> SparkplugHost { SparkplugHost.born(limits: limits) }
}
