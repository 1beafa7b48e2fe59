using LlmApi.Tests.Infrastructure;

namespace LlmApi.Tests.Cluster;

// Every test of the API over a single Redis runs again over a real Redis Cluster: a key, script or transaction that
// spans hash slots fails there as it would in production.

[Collection(ClusterApi.Name)]
public sealed class AuditTrailTestsOnCluster(ClusterApiFixture fixture) : LlmApi.Tests.Audit.AuditTrailTests(fixture);

[Collection(ClusterApi.Name)]
public sealed class LoginTestsOnCluster(ClusterApiFixture fixture) : LlmApi.Tests.Auth.LoginTests(fixture);

[Collection(ClusterApi.Name)]
public sealed class RegistrationTestsOnCluster(ClusterApiFixture fixture) : LlmApi.Tests.Auth.RegistrationTests(fixture);

[Collection(ClusterApi.Name)]
public sealed class SessionTestsOnCluster(ClusterApiFixture fixture) : LlmApi.Tests.Auth.SessionTests(fixture);

[Collection(ClusterApi.Name)]
public sealed class ThrottlingTestsOnCluster(ClusterApiFixture fixture) : LlmApi.Tests.Auth.ThrottlingTests(fixture);

[Collection(ClusterApi.Name)]
public sealed class TokenValidationTestsOnCluster(ClusterApiFixture fixture) : LlmApi.Tests.Auth.TokenValidationTests(fixture);

[Collection(ClusterApi.Name)]
public sealed class ConfigurationTestsOnCluster(ClusterApiFixture fixture) : LlmApi.Tests.Foundation.ConfigurationTests(fixture);

[Collection(ClusterApi.Name)]
public sealed class FuzzTestsOnCluster(ClusterApiFixture fixture) : LlmApi.Tests.Foundation.FuzzTests(fixture);

[Collection(ClusterApi.Name)]
public sealed class InputHandlingTestsOnCluster(ClusterApiFixture fixture) : LlmApi.Tests.Foundation.InputHandlingTests(fixture);

[Collection(ClusterApi.Name)]
public sealed class MalformedInputTestsOnCluster(ClusterApiFixture fixture) : LlmApi.Tests.Foundation.MalformedInputTests(fixture);

[Collection(ClusterApi.Name)]
public sealed class SecretsInLogsTestsOnCluster(ClusterApiFixture fixture) : LlmApi.Tests.Foundation.SecretsInLogsTests(fixture);

[Collection(ClusterApi.Name)]
public sealed class ServiceInfoTestsOnCluster(ClusterApiFixture fixture) : LlmApi.Tests.Foundation.ServiceInfoTests(fixture);

[Collection(ClusterApi.Name)]
public sealed class ApiKeyTestsOnCluster(ClusterApiFixture fixture) : LlmApi.Tests.Llm.ApiKeyTests(fixture);

[Collection(ClusterApi.Name)]
public sealed class ChatGatewayTestsOnCluster(ClusterApiFixture fixture) : LlmApi.Tests.Llm.ChatGatewayTests(fixture);

[Collection(ClusterApi.Name)]
public sealed class ClientLibraryTestsOnCluster(ClusterApiFixture fixture) : LlmApi.Tests.Llm.ClientLibraryTests(fixture);

[Collection(ClusterApi.Name)]
public sealed class LimitTestsOnCluster(ClusterApiFixture fixture) : LlmApi.Tests.Llm.LimitTests(fixture);

[Collection(ClusterApi.Name)]
public sealed class SurfaceTestsOnCluster(ClusterApiFixture fixture) : LlmApi.Tests.Llm.SurfaceTests(fixture);

[Collection(ClusterApi.Name)]
public sealed class UsageTestsOnCluster(ClusterApiFixture fixture) : LlmApi.Tests.Llm.UsageTests(fixture);

[Collection(ClusterApi.Name)]
public sealed class OperatorTestsOnCluster(ClusterApiFixture fixture) : LlmApi.Tests.Tenants.OperatorTests(fixture);

[Collection(ClusterApi.Name)]
public sealed class TenantIsolationTestsOnCluster(ClusterApiFixture fixture) : LlmApi.Tests.Tenants.TenantIsolationTests(fixture);

[Collection(ClusterApi.Name)]
public sealed class UserManagementTestsOnCluster(ClusterApiFixture fixture) : LlmApi.Tests.Users.UserManagementTests(fixture);

/// <summary>Proof that the collection above runs where hash slots matter.</summary>
[Collection(ClusterApi.Name)]
public sealed class ClusterFixtureTests(ClusterApiFixture fixture)
{
    [Fact]
    public async Task The_tests_run_on_three_primaries_that_refuse_commands_spanning_slots()
    {
        Assert.Equal(3, fixture.Redis.Connection.GetServers().Count(s => !s.IsReplica && s.ServerType == StackExchange.Redis.ServerType.Cluster));
        await Assert.ThrowsAnyAsync<StackExchange.Redis.RedisException>(() =>
            fixture.Redis.Database.ExecuteAsync("MSET", "tenant:{a}:x", "1", "tenant:{b}:y", "2"));
    }
}
