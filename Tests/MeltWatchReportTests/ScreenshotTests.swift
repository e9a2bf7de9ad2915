import Foundation
import Testing

@testable import MeltWatchReport

/// The report as a person sees it: headless Chromium renders the fixture's HTML to a PNG, which must
/// exist and be a real picture. The files (report.html, .png, .csv, .json) stay in
/// `MELTWATCH_REPORT_SCREENSHOT_DIR` (default `$TMPDIR/meltwatch-report-screenshot`) for a person to
/// look at.
@Suite("Screenshot of the HTML report in headless Chromium")
struct ScreenshotTests {
    static let chromium: String? = {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for dir in path.split(separator: ":") {
            for name in ["chromium", "chromium-browser"] {
                let candidate = "\(dir)/\(name)"
                if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            }
        }
        return nil
    }()

    /// `scripts/report-screenshot.sh`, found from this file upwards.
    static var script: URL? {
        var dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        while dir.path != "/" {
            let candidate = dir.appendingPathComponent("scripts/report-screenshot.sh")
            if FileManager.default.fileExists(atPath: candidate.path) { return candidate }
            dir.deleteLastPathComponent()
        }
        return nil
    }

    /// Runs `scripts/report-screenshot.sh` on `html`; the PNG's bytes, checked to be a PNG.
    static func render(script: URL, html: URL, png: URL, size: String? = nil) throws -> Data {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = [script.path, html.path, png.path] + (size.map { [$0] } ?? [])
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let stderr = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "\(String(decoding: stderr, as: UTF8.self))")
        let data = try Data(contentsOf: png)
        #expect(Array(data.prefix(8)) == [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A], "PNG signature")
        return data
    }

    @Test(.enabled(if: chromium != nil, "chromium is not installed (apt-get install -y chromium fonts-noto-cjk): screenshot skipped"),
          .timeLimit(.minutes(3)))
    func fixtureReportRendersToAScreenshot() throws {
        let script = try #require(Self.script, "scripts/report-screenshot.sh not found above \(#filePath)")
        let env = ProcessInfo.processInfo.environment
        let dir = URL(fileURLWithPath: env["MELTWATCH_REPORT_SCREENSHOT_DIR"]
            ?? FileManager.default.temporaryDirectory.appendingPathComponent("meltwatch-report-screenshot").path)
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let html = dir.appendingPathComponent("report.html")
        let png = dir.appendingPathComponent("report.png")
        let report = Fixture.report
        try report.html().write(to: html, atomically: true, encoding: .utf8)
        // The other two formats beside it, for a person comparing them with the page.
        try report.csv().write(to: dir.appendingPathComponent("report.csv"), atomically: true, encoding: .utf8)
        try report.json().write(to: dir.appendingPathComponent("report.json"), atomically: true, encoding: .utf8)
        try? FileManager.default.removeItem(at: png)

        let data = try Self.render(script: script, html: html, png: png)
        #expect(data.count > 100_000, "a page of tables and charts is more than \(data.count) bytes")
        // IHDR: width and height, big-endian, at bytes 16…23.
        func be32(_ at: Int) -> Int { data[at..<at + 4].reduce(0) { $0 << 8 | Int($1) } }
        #expect(be32(16) == 1400)
        #expect(be32(20) == 3000)
    }

    @Test("the ledger (附件2) and the checklist (附件5) render on A4 pages with their Chinese text",
          .enabled(if: chromium != nil, "chromium is not installed (apt-get install -y chromium fonts-noto-cjk): screenshot skipped"),
          .timeLimit(.minutes(3)))
    func hazardFormsRenderToScreenshots() throws {
        let script = try #require(Self.script, "scripts/report-screenshot.sh not found above \(#filePath)")
        let env = ProcessInfo.processInfo.environment
        let dir = URL(fileURLWithPath: env["MELTWATCH_REPORT_SCREENSHOT_DIR"]
            ?? FileManager.default.temporaryDirectory.appendingPathComponent("meltwatch-report-screenshot").path)
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        for (form, size) in [(HazardForms.Form.ledger, (1600, 900)), (.checklist, (1000, 900))] {
            let forms = FormsFixture.forms(form, week: 49)
            let html = dir.appendingPathComponent("hazard-\(form.rawValue).html")
            let png = dir.appendingPathComponent("hazard-\(form.rawValue).png")
            try forms.html().write(to: html, atomically: true, encoding: .utf8)
            try forms.csv().write(to: dir.appendingPathComponent("hazard-\(form.rawValue).csv"), atomically: true, encoding: .utf8)
            try? FileManager.default.removeItem(at: png)
            let data = try Self.render(script: script, html: html, png: png, size: "\(size.0),\(size.1)")
            // A page of CJK tables: tens of kilobytes at least (a blank page, or boxes for missing glyphs, is far less).
            #expect(data.count > 30_000, "\(form.rawValue): \(data.count) bytes")
        }
    }
}
