using Microsoft.Extensions.Configuration;
using StableAlignment.Trainer;
using YamlDotNet.Core;
using YamlDotNet.Serialization;

namespace StableAlignment.Tests;

/// <summary>Docker cannot run here, so the compose file is checked as data: services, health, order, configuration.</summary>
public sealed class ComposeFileTests
{
    private static readonly string[] DotnetServices =
        ["agent-runner", "observer-rater", "memory-store", "dataset-builder", "trainer", "evaluator", "gateway"];

    private static readonly Dictionary<object, object> Services = Load();

    private static Dictionary<object, object> Load()
    {
        using var reader = new StringReader(File.ReadAllText(RepositoryRoot.Combine("docker-compose.yml")));
        var root = new DeserializerBuilder().Build().Deserialize<Dictionary<object, object>>(new MergingParser(new Parser(reader)));
        return (Dictionary<object, object>)root["services"];
    }

    private static Dictionary<object, object> Service(string name) => (Dictionary<object, object>)Services[name];

    private static Dictionary<object, object> Env(string name) =>
        Service(name).TryGetValue("environment", out var env) ? (Dictionary<object, object>)env : [];

    [Fact]
    public void Every_service_and_the_infrastructure_is_declared_with_a_health_check()
    {
        foreach (var name in DotnetServices.Append("rabbitmq").Append("mongo"))
        {
            Assert.True(Services.ContainsKey(name), $"service {name} missing");
            var health = (Dictionary<object, object>)Service(name)["healthcheck"];
            Assert.NotEmpty((List<object>)health["test"]);
        }
    }

    [Fact]
    public void Each_dotnet_service_builds_an_existing_host_with_the_shared_dockerfile()
    {
        foreach (var name in DotnetServices)
        {
            var build = (Dictionary<object, object>)Service(name)["build"];
            Assert.Equal("infra/docker/Dockerfile", build["dockerfile"]);
            var project = (string)((Dictionary<object, object>)build["args"])["SERVICE"];
            Assert.True(File.Exists(RepositoryRoot.Combine("services", project, $"StableAlignment.{project}.Host", $"StableAlignment.{project}.Host.csproj")), $"{name}: no services/{project}");
        }

        Assert.True(File.Exists(RepositoryRoot.Combine("infra", "docker", "Dockerfile")));
    }

    [Fact]
    public void Services_start_after_the_broker_and_database_are_healthy()
    {
        foreach (var name in DotnetServices)
        {
            var deps = (Dictionary<object, object>)Service(name)["depends_on"];
            foreach (var (dep, condition) in deps)
            {
                Assert.Equal((string)dep == "broker-users" ? "service_completed_successfully" : "service_healthy", ((Dictionary<object, object>)condition)["condition"]);
            }

            Assert.True(name == "gateway" || deps.ContainsKey("rabbitmq"), $"{name} does not wait for rabbitmq");
            if (Env(name).ContainsKey("Storage__Provider"))
            {
                Assert.True(deps.ContainsKey("mongo"), $"{name} uses MongoDB but does not wait for it");
            }
        }

        var gatewayDeps = (Dictionary<object, object>)Service("gateway")["depends_on"];
        Assert.All(DotnetServices.Where(s => s != "gateway"), s => Assert.True(gatewayDeps.ContainsKey(s)));
    }

    [Theory]
    [InlineData("agent-runner", "Bus__Transport,Bus__RabbitMqUri,Models__Default__Endpoint,Models__Default__Model,Storage__Provider,Storage__ConnectionString")]
    [InlineData("observer-rater", "Bus__Transport,Bus__RabbitMqUri,Models__Default__Endpoint,Models__Default__Model")]
    [InlineData("memory-store", "Bus__Transport,Bus__RabbitMqUri,Storage__Provider,Storage__ConnectionString")]
    [InlineData("dataset-builder", "Bus__Transport,Bus__RabbitMqUri,Datasets__Root")]
    [InlineData("trainer", "Bus__Transport,Bus__RabbitMqUri,Trainer__Root,Trainer__DatasetsRoot")]
    [InlineData("evaluator", "Bus__Transport,Bus__RabbitMqUri,Evaluator__Root,Models__Default__Endpoint")]
    [InlineData("gateway", "Bus__Transport,Bus__RabbitMqUri,Gateway__ApiKey,Internal__Key")]
    public void Service_gets_the_variables_its_options_need(string service, string variables)
    {
        var env = Env(service);
        foreach (var variable in variables.Split(','))
        {
            Assert.True(env.ContainsKey(variable), $"{service} lacks {variable}");
        }

        if (env.ContainsKey("Storage__Provider"))
        {
            Assert.Equal("MongoDb", env["Storage__Provider"]);
        }
    }

    [Fact]
    public void No_credentials_are_baked_in()
    {
        foreach (var (name, _) in Services)
        {
            foreach (var (key, value) in Env((string)name))
            {
                var text = value?.ToString() ?? string.Empty;
                var secret = ((string)key).Contains("PASS", StringComparison.OrdinalIgnoreCase)
                    || ((string)key).Contains("ApiKey", StringComparison.OrdinalIgnoreCase)
                    || ((string)key).Contains("USER", StringComparison.OrdinalIgnoreCase)
                    || text.Contains('@');
                if (secret && text.Length > 0)
                {
                    Assert.Contains("${", text);
                }
            }
        }
    }

    [Fact]
    public void Only_the_gateway_and_the_local_broker_ui_are_published_on_loopback_by_default()
    {
        // Services of an opt-in profile (the observability dashboard) are not there by default.
        var published = Services.Where(s => ((Dictionary<object, object>)s.Value) is var d && d.ContainsKey("ports") && !d.ContainsKey("profiles"))
            .Select(s => (string)s.Key).Order();
        Assert.Equal(["gateway", "rabbitmq"], published);
        Assert.Equal(["127.0.0.1:15672:15672"], ((List<object>)Service("rabbitmq")["ports"]).Cast<string>());
        Assert.Equal(["${GATEWAY_BIND:-127.0.0.1}:${GATEWAY_PORT:-8080}:8080"], ((List<object>)Service("gateway")["ports"]).Cast<string>());
    }

    [Fact]
    public void Every_service_has_its_own_broker_and_database_user_and_none_holds_the_administrator_accounts()
    {
        var brokerUsers = new HashSet<string>();
        foreach (var name in DotnetServices)
        {
            var env = Env(name);
            Assert.Equal("${INTERNAL_KEY:?set INTERNAL_KEY in .env (16 characters or more)}", env["Internal__Key"]);
            var bus = (string)env["Bus__RabbitMqUri"];
            Assert.DoesNotContain("RABBITMQ_USER", bus, StringComparison.Ordinal);
            Assert.DoesNotContain("${RABBITMQ_PASSWORD", bus, StringComparison.Ordinal);
            Assert.True(brokerUsers.Add(bus[7..bus.IndexOf(':', 7)]), $"{name} shares a broker user");
            if (env.TryGetValue("Storage__ConnectionString", out var mongo))
            {
                Assert.StartsWith($"mongodb://{name}:", (string)mongo, StringComparison.Ordinal);
                Assert.DoesNotContain("MONGO_USER", (string)mongo, StringComparison.Ordinal);
                Assert.DoesNotContain("authSource=admin", (string)mongo, StringComparison.Ordinal);
            }
        }

        var script = File.ReadAllText(RepositoryRoot.Combine("infra", "docker", "mongo-init", "create-service-users.js"));
        Assert.All(DotnetServices.Where(s => Env(s).ContainsKey("Storage__ConnectionString")), s => Assert.Contains($"\"{s}\"", script, StringComparison.Ordinal));
        var users = File.ReadAllText(RepositoryRoot.Combine("infra", "docker", "broker-users", "create-users.sh"));
        Assert.All(brokerUsers, u => Assert.Contains($"{u}:$RABBITMQ_", users, StringComparison.Ordinal));
    }

    [Fact]
    public void Services_have_resource_limits_and_the_build_context_leaves_secrets_and_outputs_out()
    {
        foreach (var name in DotnetServices)
        {
            var limits = (Dictionary<object, object>)((Dictionary<object, object>)((Dictionary<object, object>)Service(name)["deploy"])["resources"])["limits"];
            Assert.True(limits.ContainsKey("cpus") && limits.ContainsKey("memory"), $"{name} has no limits");
        }

        var ignored = File.ReadAllLines(RepositoryRoot.Combine(".dockerignore"));
        foreach (var entry in new[] { ".env", "artifacts/", ".state/", "**/bin/", "**/obj/" })
        {
            Assert.Contains(entry, ignored);
        }
    }

    [Fact]
    public void Gpu_profile_replaces_the_cpu_trainer_with_one_built_on_a_pytorch_image_and_an_nvidia_device()
    {
        var gpu = Service("trainer-gpu");
        Assert.Equal(["gpu"], ((List<object>)gpu["profiles"]).Cast<string>());
        var build = (Dictionary<object, object>)gpu["build"];
        Assert.Equal("infra/docker/Dockerfile.trainer-gpu", build["dockerfile"]);
        Assert.StartsWith("${PYTORCH_IMAGE:-pytorch/pytorch:", (string)((Dictionary<object, object>)build["args"])["PYTORCH_IMAGE"]);
        var dockerfile = File.ReadAllText(RepositoryRoot.Combine("infra", "docker", "Dockerfile.trainer-gpu"));
        Assert.Contains("-p:TorchDevice=system", dockerfile);
        Assert.Contains("LD_LIBRARY_PATH", dockerfile);
        var devices = (List<object>)((Dictionary<object, object>)((Dictionary<object, object>)((Dictionary<object, object>)gpu["deploy"])["resources"])["reservations"])["devices"];
        Assert.Equal("nvidia", ((Dictionary<object, object>)devices[0])["driver"]);

        // The CPU trainer steps aside when the GPU one exists, so the two never compete for the queue or resume the same jobs.
        Assert.Equal("trainer-gpu", Env("trainer")["Trainer__StandbyWhenPresent"]);
        Assert.Equal(Env("trainer")["Trainer__Root"], Env("trainer-gpu")["Trainer__Root"]);
    }

    [Fact]
    public void A_trainer_stands_by_only_when_the_named_host_resolves()
    {
        static IConfiguration Settings(string? host) =>
            new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["Trainer:StandbyWhenPresent"] = host }).Build();
        Assert.True(TrainerStandby.ShouldStandBy(Settings("localhost"), TimeSpan.Zero));
        Assert.False(TrainerStandby.ShouldStandBy(Settings("trainer-gpu.invalid"), TimeSpan.Zero));
        Assert.False(TrainerStandby.ShouldStandBy(Settings(null), TimeSpan.Zero));
    }

    [Fact]
    public void Gateway_routes_point_at_compose_services()
    {
        var settings = JsonNode.Parse(File.ReadAllText(RepositoryRoot.Combine("services", "Gateway", "StableAlignment.Gateway.Host", "appsettings.json")))!;
        var clusters = settings["ReverseProxy"]!["Clusters"]!.AsObject();
        Assert.Equal(6, clusters.Count);
        foreach (var (_, cluster) in clusters)
        {
            var address = new Uri(cluster!["Destinations"]!["main"]!["Address"]!.GetValue<string>());
            Assert.Contains(address.Host, DotnetServices);
            Assert.Equal(8080, address.Port);
        }
    }

    [Fact]
    public void The_observability_profile_adds_a_loopback_dashboard_and_every_service_can_export_to_it()
    {
        var dashboard = Service("aspire-dashboard");
        Assert.Equal(["observability"], ((List<object>)dashboard["profiles"]).Cast<string>());
        var port = Assert.Single(((List<object>)dashboard["ports"]).Cast<string>());
        Assert.StartsWith("127.0.0.1:", port, StringComparison.Ordinal);
        foreach (var name in DotnetServices.Append("trainer-gpu"))
        {
            Assert.True(Env(name).ContainsKey("OTEL_EXPORTER_OTLP_ENDPOINT"), $"{name} cannot be pointed at a collector");
            Assert.Equal(name, Env(name)["OTEL_SERVICE_NAME"]);
        }
    }

    [Fact]
    public async Task Docker_compose_validates_the_file_with_the_observability_and_gpu_profiles()
    {
        var compose = new[] { "/usr/bin/docker-compose", "/usr/local/bin/docker-compose" }.FirstOrDefault(File.Exists);
        Assert.SkipWhen(compose is null, "docker-compose is not installed (make test installs it from apt)");
        var folder = Directory.CreateDirectory(TestConfiguration.TempPath("compose-config")).FullName;
        File.Copy(RepositoryRoot.Combine("docker-compose.yml"), Path.Combine(folder, "docker-compose.yml"));
        // .env.example with every empty value filled in, as a user does.
        await File.WriteAllLinesAsync(Path.Combine(folder, ".env"), File.ReadAllLines(RepositoryRoot.Combine(".env.example"))
            .Where(l => l.Contains('=') && !l.StartsWith('#')).Select(l => l.EndsWith('=') ? l + "filled-in-value-0123456789" : l));
        var start = new System.Diagnostics.ProcessStartInfo(compose!, ["--profile", "observability", "--profile", "gpu", "config", "-q"])
        {
            WorkingDirectory = folder, RedirectStandardError = true, RedirectStandardOutput = true,
        };
        using var process = System.Diagnostics.Process.Start(start)!;
        var err = await process.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
        await process.WaitForExitAsync(TestContext.Current.CancellationToken);
        Assert.True(process.ExitCode == 0, err);
    }
}
