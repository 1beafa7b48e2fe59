using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.Json.Serialization;
using LlmApi.Web.Session;

namespace LlmApi.Web.Api;

/// <summary>
/// The API as the console calls it, on behalf of whoever is signed in: their token (or the operator key) from the
/// server-side session, the browser's address and user agent forwarded (the API throttles and audits by them). A 401
/// ends the console session (<see cref="SessionEndedException"/>); every other refusal comes back as an
/// <see cref="ApiError"/> carrying the API's own message.
/// </summary>
internal sealed partial class ConsoleApi(HttpClient http, ConsoleSession session, IHttpContextAccessor accessor, ILogger<ConsoleApi> logger)
{
    private const string OperatorKeyHeader = "X-Operator-Key";

    internal static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    // Signing in and out

    public Task<ApiResult<SignInResult>> LoginAsync(string email, string password, string domain) =>
        SendAsync<SignInResult>(HttpMethod.Post, "/api/auth/login", new { email, password, domain }, Credential.None);

    /// <summary>Checks an operator key by listing one tenant with it.</summary>
    public async Task<ApiError?> CheckOperatorKeyAsync(string key)
    {
        var result = await SendAsync<TenantPage>(HttpMethod.Get, "/api/admin/tenants?limit=1", null, new Credential(null, key));
        return result.Error;
    }

    public Task<ApiResult<Unit>> LogoutAsync() => SendAsync<Unit>(HttpMethod.Post, "/api/auth/logout", null);

    public Task<ApiResult<Unit>> LogoutAllAsync() => SendAsync<Unit>(HttpMethod.Post, "/api/auth/logout-all", null);

    // The signed-in user

    public Task<ApiResult<MeInfo>> MeAsync() => SendAsync<MeInfo>(HttpMethod.Get, "/api/auth/me", null);

    public Task<ApiResult<SessionList>> SessionsAsync() => SendAsync<SessionList>(HttpMethod.Get, "/api/auth/sessions", null);

    public Task<ApiResult<Unit>> EndSessionAsync(Guid sessionId) => SendAsync<Unit>(HttpMethod.Delete, $"/api/auth/sessions/{sessionId:D}", null);

    public Task<ApiResult<Unit>> ChangePasswordAsync(string currentPassword, string newPassword) =>
        SendAsync<Unit>(HttpMethod.Post, "/api/auth/password", new { currentPassword, newPassword });

    // A tenant's admin

    public Task<ApiResult<IReadOnlyList<UserInfo>>> UsersAsync() =>
        AllPagesAsync<UserPage, UserInfo>("/api/users?limit=100", page => (page.Users, page.NextCursor));

    /// <summary>
    /// The tenant's users and keys by id, to name them where usage and audit events give ids; either is empty when
    /// it could not be read (an id is then shown as it is).
    /// </summary>
    public async Task<TenantNames> NamesAsync()
    {
        var users = await UsersAsync();
        var keys = await KeysAsync();
        return new TenantNames(
            (users.Value ?? []).ToDictionary(u => u.UserId.ToString("D"), u => u.Username, StringComparer.Ordinal),
            (keys.Value?.Keys ?? []).ToDictionary(k => k.KeyId.ToString("D"), k => k.Name, StringComparer.Ordinal));
    }

    public Task<ApiResult<Unit>> CreateUserAsync(string username, string email, string password, string role) =>
        SendAsync<Unit>(HttpMethod.Post, "/api/users", new { username, email, password, role });

    public Task<ApiResult<Unit>> UpdateUserAsync(Guid userId, string? role, string? status) =>
        SendAsync<Unit>(HttpMethod.Patch, $"/api/users/{userId:D}", new { role, status });

    public Task<ApiResult<Unit>> DeleteUserAsync(Guid userId) => SendAsync<Unit>(HttpMethod.Delete, $"/api/users/{userId:D}", null);

    public Task<ApiResult<KeyList>> KeysAsync() => SendAsync<KeyList>(HttpMethod.Get, "/api/keys", null);

    public Task<ApiResult<CreatedKey>> CreateKeyAsync(string name, IReadOnlyList<string> models, int? requestsPerMinute, int? tokensPerMinute, long? monthlyTokenBudget) =>
        SendAsync<CreatedKey>(HttpMethod.Post, "/api/keys", new { name, models, requestsPerMinute, tokensPerMinute, monthlyTokenBudget });

    public Task<ApiResult<Unit>> DeleteKeyAsync(Guid keyId) => SendAsync<Unit>(HttpMethod.Delete, $"/api/keys/{keyId:D}", null);

    public Task<ApiResult<UsageReport>> UsageAsync(DateOnly from, DateOnly to, string groupBy) =>
        SendAsync<UsageReport>(HttpMethod.Get, $"/api/usage?from={from:yyyy-MM-dd}&to={to:yyyy-MM-dd}&groupBy={groupBy}", null);

    public Task<ApiResult<CurrentUsage>> CurrentUsageAsync() => SendAsync<CurrentUsage>(HttpMethod.Get, "/api/usage/current", null);

    public Task<ApiResult<AuditPage>> AuditAsync(string? action, string? actor, string? cursor) =>
        SendAsync<AuditPage>(HttpMethod.Get, "/api/audit?limit=50" + Query("action", action) + Query("actor", actor) + Query("cursor", cursor), null);

    // The operator

    public Task<ApiResult<IReadOnlyList<TenantInfo>>> TenantsAsync() =>
        AllPagesAsync<TenantPage, TenantInfo>("/api/admin/tenants?limit=100", page => (page.Tenants, page.NextCursor));

    public Task<ApiResult<TenantInfo>> TenantAsync(Guid tenantId) =>
        SendAsync<TenantInfo>(HttpMethod.Get, $"/api/admin/tenants/{tenantId:D}", null);

    public Task<ApiResult<AuditPage>> TenantAuditAsync(Guid tenantId) =>
        SendAsync<AuditPage>(HttpMethod.Get, $"/api/admin/audit?tenantId={tenantId:D}&limit=20", null);

    public Task<ApiResult<TenantInfo>> UpdateTenantAsync(Guid tenantId, string? status, Limits? limits) =>
        SendAsync<TenantInfo>(HttpMethod.Patch, $"/api/admin/tenants/{tenantId:D}", new { status, limits });

    /// <summary>
    /// The model servers as the answering API replica sees them. With none in rotation the API answers 503 with the same
    /// list in its problem document, which is still the answer to show.
    /// </summary>
    public async Task<ApiResult<UpstreamHealth>> UpstreamsAsync()
    {
        var result = await SendAsync<JsonElement>(HttpMethod.Get, "/api/llm/health", null, Credential.None, acceptProblemBody: true);
        if (result.Error is { } error)
        {
            return error;
        }

        var root = result.Value;
        var upstreams = root.TryGetProperty("upstreams", out var list) ? list.Deserialize<List<UpstreamInfo>>(Json) ?? [] : [];
        var status = root.TryGetProperty("status", out var s) && s.ValueKind == JsonValueKind.String ? s.GetString()! : "down";
        return new(new UpstreamHealth(status, upstreams), null);
    }

    /// <summary>Every item of a list the API gives in pages (up to <see cref="MaxListed"/>), or the first page's error.</summary>
    private async Task<ApiResult<IReadOnlyList<TItem>>> AllPagesAsync<TPage, TItem>(string path, Func<TPage, (IReadOnlyList<TItem> Items, string? Next)> read)
    {
        var all = new List<TItem>();
        string? cursor = null;
        do
        {
            var page = await SendAsync<TPage>(HttpMethod.Get, path + Query("cursor", cursor), null);
            if (page.Error is { } error)
            {
                return error;
            }

            var (items, next) = read(page.Value!);
            all.AddRange(items);
            cursor = next;
        }
        while (cursor is not null && all.Count < MaxListed);

        return new(all, null);
    }

    /// <summary>How many users or tenants a page of the console lists at most.</summary>
    private const int MaxListed = 10_000;

    private static string Query(string name, string? value) =>
        string.IsNullOrEmpty(value) ? string.Empty : $"&{name}={Uri.EscapeDataString(value)}";

    private readonly record struct Credential(string? Bearer, string? OperatorKey)
    {
        public static readonly Credential None = new(null, null);

        public bool IsNone => Bearer is null && OperatorKey is null;
    }

    private async Task<Credential> SessionCredentialAsync() => await session.CredentialAsync() is not { } credential
        ? throw new SessionEndedException(SessionEndReason.Ended)
        : session.IsOperator ? new Credential(null, credential) : new Credential(credential, null);

    private async Task<ApiResult<T>> SendAsync<T>(HttpMethod method, string path, object? body, Credential? credential = null, bool acceptProblemBody = false)
    {
        var use = credential ?? await SessionCredentialAsync();
        using var request = new HttpRequestMessage(method, path.TrimStart('/'));
        if (use.Bearer is { } token)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }
        else if (use.OperatorKey is { } key)
        {
            request.Headers.Add(OperatorKeyHeader, key);
        }

        ForwardClient(request);
        if (body is not null)
        {
            request.Content = JsonContent.Create(body, options: Json);
        }

        try
        {
            using var response = await http.SendAsync(request, accessor.HttpContext?.RequestAborted ?? default);
            if (response.IsSuccessStatusCode || (acceptProblemBody && response.StatusCode == HttpStatusCode.ServiceUnavailable))
            {
                if (typeof(T) == typeof(Unit))
                {
                    return new(default, null);
                }

                var value = await response.Content.ReadFromJsonAsync<T>(Json);
                return value is null ? (ApiResult<T>)ApiError.Of("The API answered without content.") : new(value, null);
            }

            var problem = await ReadProblemAsync(response);
            if (response.StatusCode == HttpStatusCode.Unauthorized && !use.IsNone && credential is null)
            {
                throw new SessionEndedException(session.IsOperator ? SessionEndReason.OperatorKeyChanged : ReasonOf(problem.Message));
            }

            return problem;
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or JsonException && accessor.HttpContext?.RequestAborted.IsCancellationRequested != true)
        {
            LogUnreachable(logger, method.Method, path.Split('?')[0], e.GetType().Name);
            return ApiError.Unreachable;
        }
    }

    /// <summary>The browser's address and user agent, so the API's throttles, sessions and audit see the person, not the console.</summary>
    private void ForwardClient(HttpRequestMessage request)
    {
        if (accessor.HttpContext is not { } context)
        {
            return;
        }

        if (context.Connection.RemoteIpAddress is { } address)
        {
            request.Headers.Add("X-Forwarded-For", address.ToString());
        }

        var agent = context.Request.Headers.UserAgent.ToString();
        if (agent.Length > 0)
        {
            request.Headers.TryAddWithoutValidation("User-Agent", agent.Length > 512 ? agent[..512] : agent);
        }
    }

    private static async Task<ApiError> ReadProblemAsync(HttpResponseMessage response)
    {
        try
        {
            var problem = await response.Content.ReadFromJsonAsync<Problem>(Json);
            var fields = problem?.Errors ?? new Dictionary<string, string[]>();
            // A validation problem's detail only says "see errors": the fields' own messages are the answer.
            var message = (fields.Count > 0 ? string.Join(" ", fields.Values.SelectMany(v => v).Distinct(StringComparer.Ordinal)) : null)
                ?? problem?.Detail
                ?? FallbackMessage(response.StatusCode);
            return new ApiError(message, fields);
        }
        catch (Exception e) when (e is JsonException or NotSupportedException or InvalidOperationException)
        {
            return ApiError.Of(FallbackMessage(response.StatusCode));
        }
    }

    /// <summary>Words for an answer without a message: never a bare status code.</summary>
    private static string FallbackMessage(HttpStatusCode status) => status switch
    {
        HttpStatusCode.NotFound => "It no longer exists.",
        HttpStatusCode.Forbidden => "You are not allowed to do this.",
        HttpStatusCode.Conflict => "This conflicts with what exists already.",
        HttpStatusCode.TooManyRequests => "Too many attempts. Wait a moment and try again.",
        >= HttpStatusCode.InternalServerError => "The API could not do this right now. Try again in a moment.",
        _ => "The API refused this request.",
    };

    private static SessionEndReason ReasonOf(string message) =>
        message.Contains("tenant is not active", StringComparison.OrdinalIgnoreCase) ? SessionEndReason.TenantSuspended
        : message.Contains("user is inactive", StringComparison.OrdinalIgnoreCase) ? SessionEndReason.UserDeactivated
        : message.Contains("expired", StringComparison.OrdinalIgnoreCase) ? SessionEndReason.Expired
        : SessionEndReason.Ended;

    private sealed record Problem(string? Title, string? Detail, Dictionary<string, string[]>? Errors);

    [LoggerMessage(Level = LogLevel.Warning, Message = "API call {Method} {Path} failed: {Error}")]
    private static partial void LogUnreachable(ILogger logger, string method, string path, string error);
}

/// <summary>An answer without a value worth reading.</summary>
public readonly record struct Unit;
