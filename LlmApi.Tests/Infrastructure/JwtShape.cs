using System.Text.RegularExpressions;

namespace LlmApi.Tests.Infrastructure;

/// <summary>
/// Whether text holds a JWT as one travels: a header and a payload that are JSON objects (base64url of <c>{"</c> is
/// <c>eyJ</c>), each followed by a dot. A bare <c>eyJ</c> is no evidence: data-protected cookies and stored sessions are
/// random base64url or bytes, and hold those three characters by chance (a console test failed so once).
/// </summary>
public static partial class JwtShape
{
    public static bool IsIn(string text) => Compact().IsMatch(text);

    [GeneratedRegex(@"eyJ[A-Za-z0-9_-]+\.eyJ[A-Za-z0-9_-]+\.")]
    private static partial Regex Compact();
}
