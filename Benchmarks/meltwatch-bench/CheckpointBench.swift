import Foundation
import MeltWatchAlarms
import MeltWatchCore
import MeltWatchRules

/// `checkpoint.encode` / `checkpoint.restore`: the engine's state of the ``BenchPlant`` after two
/// minutes of its stream (alarms open, on-delays pending, health timers running) written as the
/// daemon writes it (JSON) and read back into a fresh engine. The engine thread pays the encoding
/// once per `journal.checkpoint_interval_s`; recovery pays the restore once per start.
func runCheckpointBenchmark(equipmentCount: Int, repetitions: Int = 5) -> [BenchResult] {
    let plant = BenchPlant(equipmentCount: equipmentCount)
    let engine = Engine(model: plant.model)
    var inputs: [EngineInput] = []
    var nextTick = BenchPlant.t0
    for n in 0..<120 {
        inputs.removeAll(keepingCapacity: true)
        plant.round(n, nextTick: &nextTick, into: &inputs)
        for input in inputs { engine.process(input) { _ in } }
    }
    let floats = (positive: "+inf", negative: "-inf", nan: "nan")
    var results: [BenchResult] = []
    var bytes = 0
    for _ in 0..<repetitions {
        let encoder = JSONEncoder()
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: floats.positive, negativeInfinity: floats.negative, nan: floats.nan)
        var start = engineBenchClock()
        guard let data = try? encoder.encode(engine.checkpoint()) else { fatalError("checkpoint did not encode") }
        results.append(BenchResult(name: "checkpoint.encode.plant\(equipmentCount)", operations: 1, seconds: engineBenchClock() - start, unit: "checkpoints"))
        bytes = data.count

        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: floats.positive, negativeInfinity: floats.negative, nan: floats.nan)
        decoder.userInfo[EngineCheckpoint.modelKey] = plant.model
        start = engineBenchClock()
        let restored = Engine(model: plant.model)
        do {
            try restored.restore(try decoder.decode(EngineCheckpoint.self, from: data))
        } catch {
            fatalError("checkpoint did not restore: \(error)")
        }
        results.append(BenchResult(name: "checkpoint.restore.plant\(equipmentCount)", operations: 1, seconds: engineBenchClock() - start, unit: "checkpoints"))
        precondition(restored.signals == engine.signals, "the restored engine must hold the same signals")
    }
    print("# checkpoint.plant\(equipmentCount): the state after 120 s of the engine plant stream, \(bytes) bytes of JSON")
    return results
}

/// `outbox.store`: one alarm event stored in the outbox as the engine thread stores it (encoded with
/// the alarm's state, framed, written; no `fdatasync`), on this machine's disk — the `store` stage of
/// an alarm's latency.
func runOutboxBenchmark(events: Int, repetitions: Int = 5) -> [BenchResult] {
    let settings = AlarmBook.Settings(escalateAfterMilliseconds: 300_000, configHash: "sha256:bench")
    var results: [BenchResult] = []
    for _ in 0..<repetitions {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("meltwatch-bench-outbox-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let t0 = EventTime(milliseconds: BenchPlant.t0)
        guard let (outbox, _) = try? Outbox.open(directory: dir, now: t0, settings: settings) else { fatalError("cannot open an outbox in \(dir)") }
        var book = AlarmBook(settings: settings)
        var seconds = 0.0
        for n in 1...events {
            var out = AlarmBook.Output()
            let raised = n % 2 == 1
            book.apply(AlarmEvent(kind: raised ? .raised : .cleared, state: raised ? .activeUnacked : .rtnUnacked, alarmClass: .process,
                                  rule: "co-level-1", priority: .high, plant: "bench", equipment: "co-probe", activation: (n + 1) / 2,
                                  ordinal: raised ? 1 : 2, signals: ["co"], value: 30, limit: 24, unit: "ppm",
                                  basis: "令10 第四条(六)", message: "一氧化碳浓度 30 ppm > 一级报警值 24 ppm (CO above level 1)",
                                  eventTime: t0.adding(milliseconds: Int64(n)), configHash: "sha256:bench"), into: &out)
            let start = ContinuousClock.now  // wall time: the write is part of it
            let stored = outbox.store(out, emittedAt: t0.adding(milliseconds: Int64(n)))
            seconds += Double((ContinuousClock.now - start) / .nanoseconds(1)) / 1e9
            precondition(stored.error == nil && stored.events.count == 1, "the event must be stored")
        }
        results.append(BenchResult(name: "outbox.store", operations: events, seconds: seconds, unit: "events"))
    }
    return results
}
