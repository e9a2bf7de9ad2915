// meltwatch-bench: throughput figures for the hot path, reported, never asserted.
//
//   swift run -c release meltwatch-bench [--quick] [--only engine] [--equipment 1000]   (--help)
//
// Each case runs several repetitions; the table shows the median, min and max rate and the
// nanoseconds per operation at the median. On a shared 2-core VM expect ±20 % between runs.
#if canImport(Glibc)
import Glibc
#endif

/// One timed repetition of one benchmark case.
struct BenchResult {
    var name: String
    var operations: Int
    var seconds: Double
    var unit: String

    var rate: Double { Double(operations) / seconds }
}

let usage = """
usage: meltwatch-bench [--quick] [--only parser|formats|ring|engine|checkpoint|journal] [--equipment N] [--readings N]
  --quick          a tenth of the work per case
  --only GROUP     run one group of cases
  --equipment N    equipment in the engine.plant case (default 1000; every catalog template in turn)
  --readings N     readings per repetition of the engine cases (default 5,000,000)
"""
var arguments = CommandLine.arguments.dropFirst()
var quick = false
var only: String?
var equipmentCount = 1000
var engineReadings: Int?
while let a = arguments.popFirst() {
    switch a {
    case "--quick": quick = true
    case "--only": only = arguments.popFirst()
    case "--equipment": equipmentCount = arguments.popFirst().flatMap { Int($0) } ?? -1
    case "--readings": engineReadings = arguments.popFirst().flatMap { Int($0) }
    case "--help", "-h": print(usage); exit(0)
    default: print("meltwatch-bench: unknown argument \(a)\n\(usage)"); exit(2)
    }
}
guard equipmentCount > 0, only.map({ ["parser", "formats", "ring", "engine", "checkpoint", "journal"].contains($0) }) ?? true else {
    print(usage)
    exit(2)
}
let readings = engineReadings ?? (quick ? 500_000 : 5_000_000)
var results: [BenchResult] = []
if only == nil || only == "parser" { results += runParserBenchmark(iterations: quick ? 200_000 : 2_000_000) }
if only == nil || only == "formats" { results += runGatewayBenchmark(iterations: quick ? 200_000 : 2_000_000) }
if only == nil || only == "ring" { results += runRingBenchmark(items: quick ? 2_000_000 : 20_000_000) }
if only == nil || only == "engine" {
    results += runSmallEngineBenchmark(readings: readings)
    results += runPlantEngineBenchmark(readings: readings, equipmentCount: equipmentCount)
}
if only == nil || only == "checkpoint" {
    results += runCheckpointBenchmark(equipmentCount: equipmentCount)
    results += runOutboxBenchmark(events: quick ? 2_000 : 20_000)
}
if only == nil || only == "journal" {
    results += runJournalBenchmark(records: quick ? 20_000 : 200_000)
    results += runReplayBenchmark(rounds: quick ? 60 : 600, equipmentCount: equipmentCount)
}

func format(_ rate: Double) -> String {
    if rate >= 1e6 { return String(Int((rate / 1e4).rounded())).withDecimal(2) + " M" }
    if rate >= 1e3 { return String(Int((rate / 10).rounded())).withDecimal(2) + " k" }
    return String(Int(rate.rounded()))
}

extension String {
    /// Left-aligns in a column of `width` characters.
    func padded(_ width: Int) -> String { count >= width ? self + " " : self + String(repeating: " ", count: width - count) }

    /// Inserts a decimal point `places` digits from the right ("1234" -> "12.34").
    func withDecimal(_ places: Int) -> String {
        let padded = count <= places ? String(repeating: "0", count: places - count + 1) + self : self
        return String(padded.dropLast(places)) + "." + String(padded.suffix(places))
    }
}

var order: [String] = []
var byName: [String: [BenchResult]] = [:]
for r in results {
    if byName[r.name] == nil { order.append(r.name) }
    byName[r.name, default: []].append(r)
}
print("case                 median rate          min .. max                ns/op   runs")
for name in order {
    let runs = byName[name]!.sorted { $0.rate < $1.rate }
    let median = runs[runs.count / 2]
    let nsPerOp = median.seconds / Double(median.operations) * 1e9
    let label = name.padded(20)
    let rate = (format(median.rate) + " \(median.unit)/s").padded(20)
    let range = (format(runs.first!.rate) + " .. " + format(runs.last!.rate)).padded(24)
    let ns = String(Int(nsPerOp.rounded())).padded(7)
    print("\(label) \(rate) \(range) \(ns) \(runs.count)")
}
