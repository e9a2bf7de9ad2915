#if canImport(Glibc)
import Glibc
#endif
import MeltWatchCore
import MeltWatchRules

/// Engine throughput: readings through a water-cooled element's rules and a CO detector, with sensor
/// health judged on every signal and a clock tick every 100 readings.
func runEngineBenchmark(readings: Int) -> [BenchResult] {
    let health = HealthSettings(staleAfterMilliseconds: 30_000, frozenAfterMilliseconds: 600_000, range: nil, required: true)
    let wce = TemplateCatalog.named("steel.water-cooled-element")!
    let co = TemplateCatalog.named("steel.co-detector")!
    var wceParams: [String: ParamValue] = [:]
    for p in wce.params { if let d = p.defaultValue { wceParams[p.name] = d } }
    var coParams: [String: ParamValue] = [:]
    for p in co.params { if let d = p.defaultValue { coParams[p.name] = d } }
    let model = EngineModel(
        equipment: [
            EngineEquipment(plant: "bench", id: "lance", template: wce, params: wceParams),
            EngineEquipment(plant: "bench", id: "co", template: co, params: coParams),
        ],
        signals: [EngineSignal(equipment: 0, role: 0, health: health), EngineSignal(equipment: 0, role: 1, health: health),
                  EngineSignal(equipment: 1, role: 0, health: health)],
        configHash: "sha256:bench"
    )
    var out: [BenchResult] = []
    for _ in 0..<5 {
        let engine = Engine(model: model)
        var events = 0
        let start = engineBenchClock()
        for i in 0..<readings {
            let t = EventTime(milliseconds: 1_763_884_800_000 + Int64(i))
            let signal = SignalID(Int32(i % 3))
            // Mostly healthy values, with a leak and a CO excursion every 10 000 readings.
            let excursion = (i / 10_000) % 2 == 1
            let v: Double = signal.rawValue == 0 ? 120 : signal.rawValue == 1 ? (excursion ? 110 : 119.5) : (excursion ? 40 : 5)
            engine.process(.reading(Reading(signal: signal, value: .number(v), time: t))) { _ in events += 1 }
            if i % 100 == 0 { engine.process(.tick(t)) { _ in events += 1 } }
        }
        let seconds = engineBenchClock() - start
        precondition(events > 0, "the benchmark stream must raise alarms")
        out.append(BenchResult(name: "engine.readings", operations: readings, seconds: seconds, unit: "readings"))
    }
    return out
}

fileprivate func engineBenchClock() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}
