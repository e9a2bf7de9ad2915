#if canImport(Glibc)
import Glibc
#endif
import MeltWatchCore
import Testing

@testable import MeltWatchRules

/// The basis strings of domain.md's clause table: every alarm must cite one of them verbatim.
private let domainBases: Set<String> = [
    "令10 第四条(四)", "令10 第四条(五)", "令10 第四条(六)", "令10 第五条(六)", "令10 第五条(七)", "令10 第五条(八)",
    "令10 第五条(九)", "令10 第五条(十一)", "令10 第十一条(三)", "令10 第十一条(四)", "令10 第十一条(六)",
    "令10 第十一条(十)", "令10 第十四条",
    "忻应急发〔2024〕216号: 各联锁动作是否与铸造平台停止下降联锁", "忻应急发〔2024〕216号: 联锁动作是否长时间延迟",
    "忻应急发〔2024〕216号: 设置的报警联锁参数值是否符合现场实际", "忻应急发〔2024〕216号: 湿式除尘干式运行",
]

/// The repository's root, from this file's real path (the test tree may be reached through a symlink).
private func repositoryRoot() -> String {
    var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
    guard realpath(#filePath, &buffer) != nil else { return "." }
    var path = String(cString: buffer)
    for _ in 0..<3 { path = String(path[..<(path.lastIndex(of: "/") ?? path.startIndex)]) }
    return path
}

private func readFile(_ path: String) -> String? {
    guard let f = fopen(path, "r") else { return nil }
    defer { fclose(f) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65_536)
    while true {
        let n = fread(&chunk, 1, chunk.count, f)
        if n == 0 { break }
        bytes += chunk[0..<n]
    }
    return String(decoding: bytes, as: UTF8.self)
}

@Suite("Template catalog: complete, documented, citing domain.md")
struct TemplateCatalogTests {
    @Test("every rule cites a basis from domain.md verbatim and says when it raises")
    func basesAndSummaries() {
        for t in TemplateCatalog.all {
            for r in t.rules {
                #expect(domainBases.contains(r.basis), "\(t.name) \(r.id): basis '\(r.basis)'")
                for (industry, basis) in r.basisByIndustry {
                    #expect(domainBases.contains(basis), "\(t.name) \(r.id) in \(industry): basis '\(basis)'")
                }
                #expect(!r.summary.isEmpty, "\(t.name) \(r.id) has no summary")
            }
        }
    }

    @Test("every param has a unit and a default (or one derived from another param), every role a summary")
    func paramsDocumented() {
        let derived: Set<String> = ["expect", "level_1", "level_2"]
        for t in TemplateCatalog.all {
            for p in t.params {
                #expect(p.defaultValue != nil || derived.contains(p.name), "\(t.name) \(p.name) has no default")
                if case .number(let unit, _) = p.kind { #expect(!unit.isEmpty, "\(t.name) \(p.name) has no unit") }
                #expect(!p.summary.isEmpty)
            }
            for r in t.roles { #expect(!r.summary.isEmpty, "\(t.name) \(r.name)") }
            #expect(Set(t.rules.map(\.id)).count == t.rules.count, "\(t.name) has duplicate rule ids")
            #expect(Set(t.roles.map(\.name)).count == t.roles.count, "\(t.name) has duplicate roles")
        }
    }

    @Test("docs/templates.md is the catalog's reference (regenerate: swift run meltwatch templates > docs/templates.md)")
    func referenceIsCurrent() {
        let path = repositoryRoot() + "/docs/templates.md"
        let text = readFile(path)
        #expect(text == TemplateCatalog.referenceMarkdown(), "\(path) is out of date")
    }
}
