import Foundation
import MeltWatchScenarios
import MeltWatchTestKit
import Testing

/// The audit report from a real journal: the Nantong scenario recorded by the live daemon, then
/// `meltwatch report` in all three formats.
@Suite("meltwatch report from a recorded journal", .serialized)
struct ReportEndToEndTests {
    @Test("casting-water-loss: ledger row with the Xinzhou notice, interlock table, evidence chart; CSV with BOM; JSON")
    func castingWaterLossReport() async throws {
        let scenario = try #require(Scenario.named("casting-water-loss"))
        let h = try await Harness(plants: scenario.rig.plantsYAML)
        defer { h.stop() }
        try await h.startDaemon()
        let origin = nowMilliseconds() - Int64(scenario.duration * 1000) - 1000
        let sim = try ProductProcess("meltwatch-sim", arguments: [
            "--broker", h.broker.url, "--config", h.configPath, "--scenario", scenario.name, "--rate", "10",
            "--speed", "10", "--start-ms", "\(origin)",
        ], logFile: h.directory.appendingPathComponent("sim.log"))
        #expect(await sim.exited(timeoutSeconds: 60) == 0)
        _ = await h.receiver.waitFor(timeoutSeconds: 30) { d in d.contains { $0.text.contains("interlock-failed") } }
        #expect(h.daemon.stop() == 0)

        var outputs: [String: String] = [:]
        for format in ["html", "csv", "json"] {
            let path = h.directory.path + "/report.\(format)"
            let p = try ProductProcess("meltwatch", arguments: [
                "report", "--config", h.configPath, "--journal", h.directory.path + "/journal", "--format", format, "--output", path,
            ], logFile: h.directory.appendingPathComponent("report-\(format).log"))
            #expect(await p.exited(timeoutSeconds: 60) == 0, "\(p.output)")
            outputs[format] = String(decoding: (try? Data(contentsOf: URL(fileURLWithPath: path))) ?? Data(), as: UTF8.self)
        }
        let html = outputs["html"] ?? ""
        #expect(html.contains("判定依据") && html.contains("忻应急发〔2024〕216号: 各联锁动作是否与铸造平台停止下降联锁"))
        #expect(html.contains("cooling-flow-low") && html.contains("<svg"))
        #expect(html.contains("cast1"))
        let csv = outputs["csv"] ?? ""
        #expect(csv.hasPrefix("\u{FEFF}"))
        #expect(csv.contains("忻应急发〔2024〕216号: 各联锁动作是否与铸造平台停止下降联锁"))
        let json = try JSONSerialization.jsonObject(with: Data((outputs["json"] ?? "").utf8)) as? [String: Any]
        #expect(json != nil)
        #expect((outputs["json"] ?? "").contains("platform_stopped"))
    }
}
