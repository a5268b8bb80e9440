import BerthCore
import Testing

@Suite struct PreflightTests {
    @Test func urlSettingsGiveHostAndPortWithTheSchemesDefault() {
        #expect(Preflight.endpoint(of: "postgres://notes:s3cr:t@db.internal/notes?sslmode=require", variable: "DATABASE_URL")
            == Endpoint(variable: "DATABASE_URL", host: "db.internal", port: 5432))
        #expect(Preflight.endpoint(of: "redis://:pw@10.0.0.7:6380/0", variable: "REDIS_URL") == Endpoint(variable: "REDIS_URL", host: "10.0.0.7", port: 6380))
        #expect(Preflight.endpoint(of: "postgresql+psycopg://u@[fd00::5]:6432/x", variable: "D") == Endpoint(variable: "D", host: "fd00::5", port: 6432))
        #expect(Preflight.endpoint(of: "sqlite:///var/lib/app.db", variable: "D") == nil)
        #expect(Preflight.endpoint(of: "postgres://%2Frun%2Fpostgresql/notes", variable: "D") == nil, "a unix socket")
        #expect(Preflight.endpoint(of: "weird://host/x", variable: "D") == nil, "no known port")
        #expect(Preflight.endpoint(of: "not a url", variable: "D") == nil)
    }

    @Test func theDefaultEndpointsAreTheDatabaseAndRedisURLsWhenSet() {
        let settings = [EnvVar(name: "DATABASE_URL", value: "postgres://db:5433/x"), EnvVar(name: "OTHER_URL", value: "http://a")]
        #expect(Preflight.endpoints(nil, settings: settings) == [Endpoint(variable: "DATABASE_URL", host: "db", port: 5433)])
        #expect(Preflight.endpoints(PreflightConfig(reach: ["OTHER_URL"]), settings: settings) == [Endpoint(variable: "OTHER_URL", host: "a", port: 80)])
        #expect(Preflight.endpoints(PreflightConfig(reach: []), settings: settings).isEmpty)
    }

    @Test func missingEmptyAndPlaceholderSettingsAreFoundAndNoValueIsShown() {
        let settings = [EnvVar(name: "SECRET_KEY", value: "changeme"), EnvVar(name: "API_TOKEN", value: "<your token>"),
                        EnvVar(name: "EMPTY", value: " "), EnvVar(name: "GOOD", value: "hunter2-real"), EnvVar(name: "XS", value: "XXXX")]
        let found = Preflight.missingSettings(["SECRET_KEY", "API_TOKEN", "EMPTY", "GOOD", "XS", "DATABASE_URL"], in: settings,
                                              files: [".env.production"], source: ".env.example")
        #expect(found.map(\.message) == ["SECRET_KEY holds a placeholder value", "API_TOKEN holds a placeholder value", "EMPTY is empty",
                                         "XS holds a placeholder value", "DATABASE_URL (required by .env.example) is not set"])
        #expect(found.allSatisfy { $0.check == "env" && $0.fix.contains(".env.production") })
        #expect(!found.map(\.description).joined().contains("changeme"))
    }

    @Test func theDiskThresholdIsTheLargerOfAGibibyteAndThreeReleases() {
        #expect(PreflightConfig().minimumFreeBytes(archiveBytes: 10 << 20) == 1 << 30)
        #expect(PreflightConfig().minimumFreeBytes(archiveBytes: 1 << 30) == 3 << 30)
        #expect(PreflightConfig(diskFreeBytes: 5).minimumFreeBytes(archiveBytes: 1 << 30) == 5)
    }
}
