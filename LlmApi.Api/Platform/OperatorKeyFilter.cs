using System.Security.Cryptography;
using System.Text;
using LlmApi.Api.Infrastructure;
using Microsoft.Extensions.Options;

namespace LlmApi.Api.Platform;

/// <summary>
/// Admits a request only with the operator key in <c>X-Operator-Key</c>. The key is compared in constant time on
/// SHA-256 digests (equal lengths, so not even the key's length leaks). With no key configured, the routes answer
/// 404 as if they did not exist.
/// </summary>
internal sealed class OperatorKeyFilter(IOptions<OperatorOptions> options) : IEndpointFilter
{
    public const string HeaderName = "X-Operator-Key";

    private readonly byte[]? _expectedDigest = string.IsNullOrEmpty(options.Value.Key)
        ? null
        : SHA256.HashData(Encoding.UTF8.GetBytes(options.Value.Key));

    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        if (_expectedDigest is null)
        {
            return Problems.NotFound("The resource");
        }

        var presented = context.HttpContext.Request.Headers[HeaderName].ToString();
        if (presented.Length == 0 || !CryptographicOperations.FixedTimeEquals(SHA256.HashData(Encoding.UTF8.GetBytes(presented)), _expectedDigest))
        {
            return Problems.Unauthorized($"A valid {HeaderName} header is required.");
        }

        return await next(context);
    }
}
