import MeltWatchCore
import MeltWatchDecode
import MeltWatchSparkplug

/// Decode rate per gateway format (contract §3): messages of 20 readings each, as a gateway sends
/// a PLC scan, in Sparkplug B (DDATA by alias, after its births), KEPServerEX IoT Gateway JSON,
/// EMQ Neuron values-format and a mapped JSON; and MeltWatch's own JSON through the router the
/// daemon uses, with gateway routes configured beside it ("format.native"), to show the routing
/// costs its messages nothing. Each case reports messages/s and readings/s; take the median.
func runGatewayBenchmark(iterations: Int) -> [BenchResult] {
    let repetitions = 5
    let count = max(iterations / 10, 16)
    let base: Int64 = 1_763_884_800_123
    let now = EventTime(milliseconds: base + 1_000)
    let perMessage = 20
    var tags = TagTable()
    var bindings: [SparkplugBinding] = []
    var roles: [String: SignalID] = [:]
    for k in 0..<perMessage {
        let signal = SignalID(Int32(k + 1))
        do {
            try tags.add(tag: "Channel1.Furnace1.TAG\(k)", signal: signal)
            try tags.add(tag: "n1/g1/TAG\(k)", signal: SignalID(Int32(100 + k)))
        } catch {
            fatalError("benchmark tags: \(error)")
        }
        bindings.append(SparkplugBinding(edge: "EON-1", device: "F1", metric: "TAG\(k)", signal: signal))
        roles["role_\(k)"] = signal
    }
    let mapping = JSONMapping(readings: ["points"], tag: .field(["name"]), value: ["val"], time: ["ts"], timeFormat: .epochMilliseconds,
                              quality: JSONMapping.QualityRule(field: ["st"], good: [.number(0)]))
    var topics = TopicTable()
    let host: SparkplugHost
    do {
        try topics.addEquipment(topic: "plants/p1/furnace1", roles: roles)
        host = try SparkplugHost(groupID: "G", bindings: bindings)
    } catch {
        fatalError("benchmark decoders: \(error)")
    }
    let decoder = MessageDecoder(native: PayloadDecoder(topics: topics), routes: [
        .init(filter: TopicFilter("spBv1.0/G/#")!, format: host),
        .init(filter: TopicFilter("kepware/#")!, format: KepwareIoTFormat(tags: tags)),
        .init(filter: TopicFilter("neuron/#")!, format: NeuronFormat(tags: tags)),
        .init(filter: TopicFilter("acme/+/points")!, format: MappedJSONFormat(mapping: mapping, tags: tags)),
    ])
    func value(_ k: Int, _ i: Int) -> String { "\(100 + k + i).\(k * 3 % 10)\(i)" }

    // Sparkplug: the births once, then DDATA by alias with seq running on.
    var effects = GatewayEffects()
    var out: [Reading] = []
    let births = [
        ("spBv1.0/G/NBIRTH/EON-1", SparkplugPayloads.nodeBirth(timestamp: EventTime(milliseconds: base), bdSeq: 0, metrics: [])),
        ("spBv1.0/G/DBIRTH/EON-1/F1", SparkplugPayloads.deviceBirth(timestamp: EventTime(milliseconds: base), seq: 1, metrics: (0..<perMessage).map {
            SparkplugMetric(name: "TAG\($0)", alias: UInt64($0 + 1), datatype: .double, value: .number(0))
        })),
    ]
    for (topic, payload) in births {
        _ = payload.withUnsafeBytes { decoder.decode(topic: topic, payload: $0, now: now, into: &out, effects: &effects) }
    }
    let sparkplug: [[UInt8]] = (0..<256).map { i in
        SparkplugPayloads.data(timestamp: EventTime(milliseconds: base + Int64(i)), seq: UInt64((i + 2) % 256), metrics: (0..<perMessage).map {
            SparkplugMetric(alias: UInt64($0 + 1), datatype: .double, value: .number(Double(value($0, i % 16))!), sendsDatatype: false)
        })
    }
    let kepware: [[UInt8]] = (0..<16).map { i in
        let values = (0..<perMessage).map { "{\"id\":\"Channel1.Furnace1.TAG\($0)\",\"v\":\(value($0, i)),\"q\":true,\"t\":\(base + Int64(i))}" }
        return Array("{\"timestamp\":\(base + Int64(i)),\"values\":[\(values.joined(separator: ","))]}".utf8)
    }
    let neuron: [[UInt8]] = (0..<16).map { i in
        let values = (0..<perMessage).map { "\"TAG\($0)\":\(value($0, i))" }
        return Array("{\"timestamp\":\(base + Int64(i)),\"node\":\"n1\",\"group\":\"g1\",\"values\":{\(values.joined(separator: ","))}}".utf8)
    }
    let mapped: [[UInt8]] = (0..<16).map { i in
        let points = (0..<perMessage).map { "{\"name\":\"Channel1.Furnace1.TAG\($0)\",\"val\":\(value($0, i)),\"ts\":\(base + Int64(i)),\"st\":0}" }
        return Array("{\"site\":\"acme\",\"points\":[\(points.joined(separator: ","))]}".utf8)
    }
    let native: [[UInt8]] = (0..<16).map { i in
        let values = (0..<perMessage).map { "\"role_\($0)\":\(value($0, i))" }
        return Array("{\"ts\":\(base + Int64(i)),\"values\":{\(values.joined(separator: ","))}}".utf8)
    }
    let cases: [(String, String, [[UInt8]])] = [
        ("format.native", "plants/p1/furnace1", native), ("format.sparkplug-b", "spBv1.0/G/DDATA/EON-1/F1", sparkplug),
        ("format.kepware-iot", "kepware/p1", kepware), ("format.neuron", "neuron/p1", neuron), ("format.json", "acme/p1/points", mapped),
    ]
    var results: [BenchResult] = []
    for (name, topic, payloads) in cases {
        _ = loop(decoder, topic: topic, payloads: payloads, count: min(count, 1_000), now: now, expect: perMessage)
        for _ in 0..<repetitions {
            let r = loop(decoder, topic: topic, payloads: payloads, count: count, now: now, expect: perMessage)
            results.append(BenchResult(name: name, operations: count, seconds: r, unit: "messages"))
            results.append(BenchResult(name: name + ".readings", operations: count * perMessage, seconds: r, unit: "readings"))
        }
    }
    return results
}

/// Decodes `count` messages; a rejected message or a short one is a benchmark bug and stops the run.
private func loop(_ decoder: MessageDecoder, topic: String, payloads: [[UInt8]], count: Int, now: EventTime, expect: Int) -> Double {
    var out: [Reading] = []
    out.reserveCapacity(64)
    var effects = GatewayEffects()
    var checksum = 0.0
    var topic = topic
    let clock = ContinuousClock()
    let start = clock.now
    topic.withUTF8 { t in
        let topicBytes = UnsafeRawBufferPointer(t)
        for i in 0..<count {
            out.removeAll(keepingCapacity: true)
            let result = payloads[i % payloads.count].withUnsafeBytes {
                decoder.decode(topicBytes: topicBytes, payload: $0, now: now, into: &out, effects: &effects)
            }
            guard case .success(let o) = result, o.readings == expect else { fatalError("benchmark payload not read whole: \(result)") }
            checksum += out[0].value.asDouble
        }
    }
    let elapsed = start.duration(to: clock.now)
    if checksum.isNaN { print("") }
    return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
}
