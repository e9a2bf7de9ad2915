#if canImport(Glibc)
import Glibc
#endif
import MeltWatchCore
import MeltWatchDecode
import MeltWatchJournal
import MeltWatchRules

/// A fresh directory for a benchmark journal (on the machine's disk: `/tmp` is not a tmpfs here,
/// so `fdatasync` is real), removed afterwards.
private func benchDirectory() -> String {
    var template = Array("/tmp/meltwatch-bench-XXXXXX".utf8CString)
    return String(cString: template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }!)
}

private func wallSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

/// `journal.append`: 100-byte gateway messages appended and made durable in groups of
/// `group` (one `fdatasync` each), as the ingest thread does per batch. Reports records/s and bytes/s
/// (frames included). `journal.commit1`: one `fdatasync` per record, the latency bound of a
/// batch of one.
func runJournalBenchmark(records: Int) -> [BenchResult] {
    var results: [BenchResult] = []
    let topic = Array("plants/baotou-steel/bof1-lance/inlet_flow".utf8)
    let payload = Array(#"{"ts":1763884800123,"v":120.43,"q":"good","seq":123456}"#.utf8) + [UInt8](repeating: 0x20, count: 44)
    for (name, group, count) in [("journal.append", 1000, records), ("journal.commit1", 1, max(200, records / 500))] {
        for _ in 0..<3 {
            let dir = benchDirectory()
            defer { _ = system("rm -rf '\(dir)'") }
            guard let w = try? JournalWriter(directory: dir, now: EventTime(milliseconds: 0)) else { continue }
            let start = wallSeconds()
            topic.withUnsafeBytes { t in
                payload.withUnsafeBytes { p in
                    for i in 0..<count {
                        try? w.appendMessage(topic: t, payload: p, qos: 1, receivedAt: EventTime(milliseconds: Int64(i)))
                        if (i + 1) % group == 0 { try? w.commit(now: EventTime(milliseconds: Int64(i))) }
                    }
                }
            }
            try? w.commit(now: EventTime(milliseconds: Int64(count)))
            let seconds = wallSeconds() - start
            results.append(BenchResult(name: name, operations: count, seconds: seconds, unit: "records"))
            if name == "journal.append" {
                results.append(BenchResult(name: "journal.append.bytes", operations: Int(w.bytesCommitted), seconds: seconds, unit: "bytes"))
            }
        }
    }
    return results
}

/// `replay.plant1000`: a recorded hour-like stream of the engine benchmark's plant — one batch
/// message per equipment scan (`{"ts":…,"values":{…}}`), ticks every 100 ms — read back from the
/// journal, decoded and evaluated, as `meltwatch replay` does. Reports readings/s (CPU time).
func runReplayBenchmark(rounds: Int, equipmentCount: Int) -> [BenchResult] {
    let plant = BenchPlant(equipmentCount: equipmentCount)
    var topics = TopicTable()
    var rolesByEquipment: [Int: [String: SignalID]] = [:]
    for (s, name) in plant.roleNames.enumerated() { rolesByEquipment[plant.equipmentOf[s], default: [:]][name] = SignalID(Int32(s)) }
    for (e, roles) in rolesByEquipment { try? topics.addEquipment(topic: "plants/bench/eq-\(e)", roles: roles) }
    let decoder = PayloadDecoder(topics: topics)

    let dir = benchDirectory()
    defer { _ = system("rm -rf '\(dir)'") }
    var readingsTotal = 0
    do {
        let w = try JournalWriter(directory: dir, now: EventTime(milliseconds: BenchPlant.t0))
        var inputs: [EngineInput] = []
        var nextTick = BenchPlant.t0
        for n in 0..<rounds {
            inputs.removeAll(keepingCapacity: true)
            plant.round(n, nextTick: &nextTick, into: &inputs)
            var current = -1
            var text = ""
            var last = EventTime(milliseconds: 0)
            func finish() throws {
                guard current >= 0 else { return }
                text += "}}"
                let topic = Array("plants/bench/eq-\(current)".utf8), payload = Array(text.utf8)
                try w.append(.message(JournalMessage(receivedAt: last, qos: 1, topic: topic, payload: payload)))
            }
            for input in inputs {
                switch input {
                case .tick(let t):
                    try finish()
                    current = -1
                    try w.append(.tick(t))
                case .reading(let r):
                    let s = Int(r.signal.rawValue), e = plant.equipmentOf[s]
                    if e != current {
                        try finish()
                        current = e
                        text = "{\"ts\":\(r.time.milliseconds),\"values\":{"
                    } else {
                        text += ","
                    }
                    let v: String = switch r.value {
                    case .number(let d): JSONWriter.format(d)
                    case .bool(let b): b ? "true" : "false"
                    }
                    text += "\"\(plant.roleNames[s])\":\(v)"
                    last = r.time
                    readingsTotal += 1
                case .arrival, .action, .reload, .checkpoint, .timing, .linkDown, .linkUp, .clockStep, .lost:
                    break  // the bench plant makes no alarm actions, reloads, outages or clock steps
                }
            }
            try finish()
            try w.commit(now: last)
        }
    } catch {
        print("meltwatch-bench: cannot write the replay journal: \(error)")
        return []
    }

    var results: [BenchResult] = []
    for _ in 0..<3 {
        let engine = Engine(model: plant.model)
        var readings: [Reading] = []
        var events = 0
        let start = cpuSeconds()
        try? JournalReader(directory: dir).forEachView { _, record in
            switch record {
            case .tick(let t): engine.process(.tick(t)) { _ in events += 1 }
            case .message(let receivedAt, _, let topic, let payload):
                readings.removeAll(keepingCapacity: true)
                _ = decoder.decode(topicBytes: topic, payload: payload, now: receivedAt, into: &readings)
                for r in readings { engine.process(.reading(r)) { _ in events += 1 } }
            case .config, .reload, .action, .alarmState, .outbox, .checkpoint, .link, .clockStep, .gatewayState: break
            }
        }
        let seconds = cpuSeconds() - start
        precondition(engine.counters.readings == readingsTotal, "replay must evaluate every recorded reading")
        results.append(BenchResult(name: "replay.plant\(equipmentCount)", operations: readingsTotal, seconds: seconds, unit: "readings"))
    }
    return results
}

private func cpuSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}
