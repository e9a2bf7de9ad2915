import MeltWatchCore
import MeltWatchDecode
import Testing

@testable import MeltWatchSparkplug

@Suite("Sparkplug host: hostile payloads and bounds")
struct SparkplugRobustnessTests {
    /// Protobuf's varint.
    static func varint(_ v: UInt64) -> [UInt8] {
        var v = v
        var out: [UInt8] = []
        while v >= 0x80 {
            out.append(UInt8(v & 0x7F) | 0x80)
            v >>= 7
        }
        out.append(UInt8(v))
        return out
    }

    /// A length-delimited field.
    static func field(_ number: UInt64, _ body: [UInt8]) -> [UInt8] {
        varint(number << 3 | 2) + varint(UInt64(body.count)) + body
    }

    @Test("bytes that are not a Sparkplug payload are malformedProtobuf", arguments: [
        [0x12, 0x05, 0x0A] as [UInt8], // metrics: 5 bytes announced, 1 there
        [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF], // a varint that never ends
        [0x08], // timestamp without its value
        [0x0A, 0x01, 0x00], // timestamp (uint64) as length-delimited: wrong wire type
        [0x1D, 0x00, 0x00, 0x00, 0x00], // seq (uint64) as fixed32: wrong wire type
        [0x12, 0x03, 0x0A, 0x01, 0xFF], // a metric name that is not UTF-8
        [0x12, 0x02, 0x50, 0x01, 0x00], // a metric, then a zero tag
        [0x07], // wire type 7 does not exist
        [0x0C], // an end-group without a start
        [0x12, 0x03, 0x12, 0x01, 0x00], // a metric's alias (uint64) as length-delimited
        [0x12, 0x09, 0x61, 0, 0, 0, 0, 0, 0, 0xF0, 0x3F], // a metric's float_value as fixed64
    ])
    func malformed(_ bytes: [UInt8]) {
        for type in [SparkplugMessageType.nodeBirth, .nodeData, .nodeDeath] {
            let host = HostFixture.born()
            #expect(host.send(type, bytes).reason == .malformedProtobuf)
        }
        let host = HostFixture.born()
        #expect(host.send(.deviceBirth, device: SP.device, bytes).reason == .malformedProtobuf)
        #expect(host.send(.deviceData, device: SP.device, bytes).reason == .malformedProtobuf)
        #expect(host.send(.deviceDeath, device: SP.device, bytes).reason == .malformedProtobuf)
    }

    @Test("fields of Sparkplug's extension ranges and unknown metric fields are passed over")
    func extensionsPass() {
        let host = HostFixture.born()
        // Payload field 6 (extension range), then a metric (alias 1, double 2.5, field 40 unknown).
        let metric: [UInt8] = [0x10, 0x01, 0x69, 0, 0, 0, 0, 0, 0, 0x04, 0x40, 0xC0, 0x02, 0x07]
        let bytes: [UInt8] = [0x18, 0x02, 0x32, 0x02, 0xAB, 0xCD] + Self.field(2, metric)
        #expect(host.send(.nodeData, bytes).values == [.number(2.5)])
    }

    @Test("every truncation of a birth is either a valid shorter payload or malformedProtobuf, never a crash")
    func truncatedBirths() {
        let birth = SP.deviceBirth()
        var malformed = 0
        for n in 0..<birth.count {
            let host = SP.host()
            _ = host.send(.nodeBirth, SP.nodeBirth())
            let sent = host.send(.deviceBirth, device: SP.device, Array(birth.prefix(n)))
            switch sent.reason {
            case nil, .malformedProtobuf?, .missingField?, .wrongType?: break
            case let other?: Issue.record("prefix \(n): \(other)")
            }
            if sent.reason == .malformedProtobuf { malformed += 1 }
        }
        #expect(malformed > birth.count / 2)
    }

    @Test("templates nested deeper than the limit are malformedProtobuf; a shallow one is an unsupported metric")
    func nestedTemplates() {
        func nested(_ depth: Int) -> [UInt8] {
            var metric = SP.wireMetric(name: "leaf", datatype: .double, .doubleValue(1))
            for _ in 0..<depth {
                var template = SparkplugBPayload.Template()
                template.metrics = [metric]
                metric = SP.wireMetric(name: "t", datatype: .template, .templateValue(template))
            }
            metric.name = "Supply Voltage"
            metric.alias = 1
            return SP.wire(seq: 0, [metric])
        }
        #expect(SP.host().send(.nodeBirth, nested(3)).outcome == DecodeOutcome(readings: 0, unsupportedMetrics: 1))
        #expect(SP.host().send(.nodeBirth, nested(20)).reason == .malformedProtobuf)
    }

    @Test("100 000 levels of nesting are refused without deep recursion")
    func hostileNesting() {
        // Payload.metrics → Metric.template_value → Template.metrics → …: sizes from the inside
        // out, then the bytes from the outside in (no quadratic copying).
        let levels = 100_000
        // Level `levels` is the payload's metric (field 2), the one inside it a template (field 18), …
        func tag(_ k: Int) -> [UInt8] { (levels - k) % 2 == 0 ? [0x12] : [0x92, 0x01] }
        var sizes = [0]
        for k in 1...levels { sizes.append(tag(k).count + Self.varint(UInt64(sizes[k - 1])).count + sizes[k - 1]) }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(sizes[levels])
        for k in stride(from: levels, to: 0, by: -1) { bytes += tag(k) + Self.varint(UInt64(sizes[k - 1])) }
        #expect(bytes.count == sizes[levels])
        #expect(SP.host().send(.nodeBirth, bytes).reason == .malformedProtobuf)
        // Unknown fields as nested groups (start-group of field 100, never ended).
        let groups = Array([[UInt8]](repeating: Self.varint(100 << 3 | 3), count: 100_000).joined())
        #expect(SP.host().send(.nodeData, groups).reason == .malformedProtobuf)
    }

    @Test("a payload over the limit is oversize before it is parsed")
    func oversize() throws {
        let host = try SparkplugHost(groupID: SP.group, bindings: SP.bindings, maxPayloadBytes: 64)
        #expect(host.send(.nodeData, [UInt8](repeating: 0xFF, count: 65)).reason == .oversize)
        #expect(host.send(.nodeData, [UInt8](repeating: 0xFF, count: 64)).reason == .malformedProtobuf)
    }

    @Test("a birth of 10 000 metrics is taken, 10 001 rejected as oversize")
    func birthSize() {
        func birth(_ n: Int) -> [UInt8] {
            SparkplugPayloads.deviceBirth(timestamp: SP.t0, seq: 1, metrics: (0..<n).map {
                SparkplugMetric(name: $0 == 0 ? "inlet_flow" : "m\($0)", alias: UInt64(100 + $0), datatype: .double, value: .number(Double($0)))
            })
        }
        let host = SP.host()
        _ = host.send(.nodeBirth, SP.nodeBirth())
        let taken = host.send(.deviceBirth, device: SP.device, birth(10_000))
        #expect(taken.outcome == DecodeOutcome(readings: 1, unknownTags: 9_999))
        #expect(host.send(.deviceData, device: SP.device, SP.data(seq: 2, [SP.byAlias(100, .number(7))])).values == [.number(7)])
        let refused = host.send(.deviceBirth, device: SP.device, birth(10_001))
        #expect(refused.reason == .oversize)
        // The device's old birth is dropped with it: its aliases can no longer be trusted.
        #expect(refused.rebirthRequests == [rebirthTopic()])
        #expect(host.send(.deviceData, device: SP.device, SP.data(seq: 4, [SP.byAlias(100, .number(7))])).reason == .noBirth)
        #expect(host.heldMetrics == 4) // the node's four metrics remain
    }

    @Test("alias collisions: within a birth, across node and device, a name twice, a nameless metric")
    func collisions() {
        let host = SP.host()
        let twice = SparkplugPayloads.nodeBirth(timestamp: SP.t0, bdSeq: 0, metrics: [
            SparkplugMetric(name: "Supply Voltage", alias: 1, datatype: .double, value: .number(1)),
            SparkplugMetric(name: "Other", alias: 1, datatype: .double, value: .number(2)),
        ])
        let refused = host.send(.nodeBirth, twice)
        #expect(refused.reason == .aliasCollision)
        #expect(refused.rebirthRequests == [rebirthTopic()])
        #expect(host.send(.nodeData, SP.data(seq: 1, [SP.byAlias(1, .number(1))])).reason == .noBirth)

        let born = HostFixture.born() // node aliases 1, 2; BOF1 10...13
        let takesNodeAlias = SparkplugPayloads.deviceBirth(timestamp: SP.t0, seq: 2, metrics: [
            SparkplugMetric(name: "inlet_flow", alias: 2, datatype: .double, value: .number(1)),
        ])
        #expect(born.send(.deviceBirth, device: SP.otherDevice, takesNodeAlias).reason == .aliasCollision)
        let takesDeviceAlias = SparkplugPayloads.deviceBirth(timestamp: SP.t0, seq: 3, metrics: [
            SparkplugMetric(name: "inlet_flow", alias: 11, datatype: .double, value: .number(1)),
        ])
        #expect(born.send(.deviceBirth, device: SP.otherDevice, takesDeviceAlias).reason == .aliasCollision)
        // BOF1 re-declaring its own aliases is a rebirth of the device, not a collision.
        #expect(born.send(.deviceBirth, device: SP.device, SP.deviceBirth(seq: 4)).outcome?.readings == 3)
        // BOF1 still reads alias 11 as outlet_flow.
        #expect(born.send(.deviceData, device: SP.device, SP.data(seq: 5, [SP.byAlias(11, .number(9))])).readings.map(\.signal) == [SP.outletFlow])

        let sameName = SparkplugPayloads.deviceBirth(timestamp: SP.t0, seq: 6, metrics: [
            SparkplugMetric(name: "inlet_flow", alias: 30, datatype: .double, value: .number(1)),
            SparkplugMetric(name: "inlet_flow", alias: 31, datatype: .double, value: .number(2)),
        ])
        #expect(born.send(.deviceBirth, device: SP.otherDevice, sameName).reason == .aliasCollision)
        let nameless = SP.wire(seq: 7, [SP.wireMetric(alias: 40, datatype: .double, .doubleValue(1))])
        #expect(born.send(.deviceBirth, device: SP.otherDevice, nameless).reason == .missingField)
    }

    @Test("DBIRTH before its node's NBIRTH: noBirth and a rebirth request")
    func deviceBirthFirst() {
        let host = SP.host()
        let sent = host.send(.deviceBirth, device: SP.device, SP.deviceBirth())
        #expect(sent.reason == .noBirth)
        #expect(sent.rebirthRequests == [rebirthTopic()])
    }

    @Test("a rejected NBIRTH ends the old session: its aliases may mean other metrics now")
    func rejectedBirthDropsSession() {
        let host = HostFixture.born()
        let garbage = host.send(.nodeBirth, [0x12, 0x05, 0x0A])
        #expect(garbage.reason == .malformedProtobuf)
        #expect(garbage.rebirthRequests == [rebirthTopic()])
        #expect(host.send(.nodeData, SP.data(seq: 1, [SP.byAlias(1, .number(1))])).reason == .noBirth)
        #expect(host.heldMetrics == 0 && host.heldNameBytes == 0)
    }

    @Test("edge nodes beyond the limit are refused; nodes without a session make room")
    func edgeNodeLimit() {
        var limits = SparkplugLimits()
        limits.edgeNodes = 2
        let host = SP.host(limits: limits)
        #expect(host.send(.nodeBirth, edge: "A", SP.nodeBirth()).outcome != nil)
        #expect(host.send(.nodeBirth, edge: "B", SP.nodeBirth()).outcome != nil)
        #expect(host.send(.nodeBirth, edge: "C", SP.nodeBirth()).reason == .oversize)
        #expect(host.send(.nodeData, edge: "C", SP.data(seq: 1, [])).reason == .oversize)
        _ = host.send(.nodeDeath, edge: "A", SparkplugPayloads.nodeDeath(bdSeq: 0))
        #expect(host.send(.nodeBirth, edge: "C", SP.nodeBirth()).outcome != nil)
        #expect(host.nodes.count == 2)
        #expect(Set(host.nodes.keys) == ["B", "C"])
    }

    @Test("devices per node and metrics in all are bounded")
    func deviceAndMetricLimits() {
        var limits = SparkplugLimits()
        limits.devicesPerNode = 2
        let host = SP.host(limits: limits)
        _ = host.send(.nodeBirth, SP.nodeBirth())
        func birth(_ seq: UInt64, alias: UInt64) -> [UInt8] {
            SparkplugPayloads.deviceBirth(timestamp: SP.t0, seq: seq, metrics: [SparkplugMetric(name: "x", alias: alias, datatype: .double, value: .number(1))])
        }
        #expect(host.send(.deviceBirth, device: "D1", birth(1, alias: 100)).outcome != nil)
        #expect(host.send(.deviceBirth, device: "D2", birth(2, alias: 101)).outcome != nil)
        #expect(host.send(.deviceBirth, device: "D3", birth(3, alias: 102)).reason == .oversize)
        #expect(host.send(.deviceBirth, device: "D2", birth(4, alias: 101)).outcome != nil) // a rebirth is no new device

        var small = SparkplugLimits()
        small.metricsTotal = 5
        let tight = SP.host(limits: small)
        #expect(tight.send(.nodeBirth, SP.nodeBirth()).outcome != nil) // 4 metrics
        #expect(tight.send(.deviceBirth, device: SP.device, SP.deviceBirth()).reason == .oversize) // 4 more
        #expect(tight.send(.nodeBirth, SP.nodeBirth(bdSeq: 1)).outcome != nil) // replacing is not adding
        #expect(tight.heldMetrics == 4)
    }
}
