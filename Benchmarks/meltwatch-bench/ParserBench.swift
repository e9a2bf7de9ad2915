import MeltWatchCore
import MeltWatchDecode

/// Payload decoder throughput: single-signal messages per second and batched readings per second.
///
/// Returns one result per repetition per case ("parser.single" in messages, "parser.batch20" in
/// readings); take the median. Payloads are rotated through 16 variants so that branch prediction
/// does not learn one message by heart.
func runParserBenchmark(iterations: Int) -> [BenchResult] {
    let repetitions = 5
    let iterations = max(iterations, 16)
    let roles = (0..<20).map { "role_\($0)" }
    var table = TopicTable()
    do {
        try table.addSignal(topic: "plants/p1/furnace1/inlet_flow", signal: SignalID(0))
        try table.addEquipment(
            topic: "plants/p1/furnace1",
            roles: Dictionary(uniqueKeysWithValues: roles.enumerated().map { ($1, SignalID(Int32($0 + 1))) })
        )
    } catch {
        fatalError("benchmark topic table: \(error)")
    }
    let decoder = PayloadDecoder(topics: table)
    let baseTime: Int64 = 1_763_884_800_123
    let now = EventTime(milliseconds: baseTime + 1_000)

    let singles: [[UInt8]] = (0..<16).map { i in
        Array("{\"ts\":\(baseTime + Int64(i)),\"v\":\(120 + i).\(i * 7 % 10),\"q\":\"good\",\"seq\":\(42 + i)}".utf8)
    }
    let batches: [[UInt8]] = (0..<16).map { i in
        let values = roles.enumerated().map { k, role in
            k % 5 == 4 ? "\"\(role)\":\(k % 2 == 0)" : "\"\(role)\":\(100 + k + i).\(k * 3 % 10)\(i)"
        }
        return Array("{\"ts\":\(baseTime + Int64(i)),\"values\":{\(values.joined(separator: ","))},\"seq\":\(i)}".utf8)
    }

    var results: [BenchResult] = []
    let singleTopic = "plants/p1/furnace1/inlet_flow"
    let batchTopic = "plants/p1/furnace1"
    // Warm up caches and lazy globals once per case before measuring.
    _ = benchDecodeLoop(decoder, topic: singleTopic, payloads: singles, count: 1_000, now: now)
    _ = benchDecodeLoop(decoder, topic: batchTopic, payloads: batches, count: 100, now: now)
    for _ in 0..<repetitions {
        let single = benchDecodeLoop(decoder, topic: singleTopic, payloads: singles, count: iterations, now: now)
        results.append(BenchResult(name: "parser.single", operations: single.readings, seconds: single.seconds, unit: "messages"))
        let batch = benchDecodeLoop(decoder, topic: batchTopic, payloads: batches, count: max(1, iterations / 10), now: now)
        results.append(BenchResult(name: "parser.batch20", operations: batch.readings, seconds: batch.seconds, unit: "readings"))
    }
    return results
}

/// Decodes `count` messages, returns the readings produced and the elapsed monotonic time.
/// A rejected message is a benchmark bug, so it stops the run rather than skewing the figure.
private func benchDecodeLoop(
    _ decoder: PayloadDecoder, topic: String, payloads: [[UInt8]], count: Int, now: EventTime
) -> (readings: Int, seconds: Double) {
    var out: [Reading] = []
    out.reserveCapacity(64)
    var readings = 0
    var checksum = 0.0
    let clock = ContinuousClock()
    let start = clock.now
    for i in 0..<count {
        out.removeAll(keepingCapacity: true)
        let result = payloads[i & 15].withUnsafeBytes { decoder.decode(topic: topic, payload: $0, now: now, into: &out) }
        switch result {
        case .success(let outcome): readings += outcome.readings
        case .failure(let error): fatalError("benchmark payload rejected: \(error)")
        }
        checksum += out[0].value.asDouble
    }
    let elapsed = start.duration(to: clock.now)
    benchBlackHole(checksum)
    let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
    return (readings, seconds)
}

/// Keeps the optimizer from discarding the decoded values.
@inline(never)
private func benchBlackHole(_ value: Double) {
    if value.isNaN { print("") }
}
