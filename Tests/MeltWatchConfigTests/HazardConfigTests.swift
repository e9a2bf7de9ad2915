import MeltWatchCore
import Testing

@testable import MeltWatchConfig

private let plants = "plants:\n  - id: p\n    equipment: []\n"
private let base = "broker: {url: 'mqtt://h', client_id: a}\nduty: {webhooks: [{url: 'http://127.0.0.1:9/a'}]}\n"

@Suite("Config: hazards (contract §2)")
struct HazardConfigTests {
    @Test("hazards: the campaign start (a Beijing date), the inspecting unit, the durations; defaults when omitted")
    func parsed() throws {
        let c = try parse(base + "hazards:\n  campaign_start: 2024-12-11\n  inspector: 安全生产部\n  bypass_min: 15\n  device_min: 30\n" + plants)
        #expect(c.hazards.campaignStart == BeijingDate(year: 2024, month: 12, day: 11))
        #expect(c.hazards.inspector == "安全生产部")
        #expect(c.hazards.bypassMinutes == 15 && c.hazards.deviceMinutes == 30)
        let d = try parse(base + plants)
        #expect(d.hazards == MeltWatchConfig.Hazards())
        #expect(d.hazards.bypassMinutes == 10 && d.hazards.deviceMinutes == 60 && d.hazards.campaignStart == nil)
    }

    @Test("a bad date, a duration out of range, an unknown key: refused at FILE:LINE:COL", arguments: [
        ("  campaign_start: 2024-13-01\n", "test.yaml:4:19: hazards.campaign_start '2024-13-01' must be a date, YYYY-MM-DD"),
        ("  bypass_min: 0\n", "test.yaml:4:15: hazards.bypass_min"),
        ("  device_min: 2000\n", "test.yaml:4:15: hazards.device_min"),
        ("  overdue_days: 3\n", "overdue_days"),
    ])
    func refused(line: String, expected: String) {
        let d = diagnostics(base + "hazards:\n" + line + plants)
        #expect(d.contains { $0.contains(expected) }, "\(d)")
    }
}
