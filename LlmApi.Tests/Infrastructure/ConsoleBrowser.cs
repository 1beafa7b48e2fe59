using Microsoft.Playwright;

namespace LlmApi.Tests.Infrastructure;

/// <summary>
/// Debian's chromium driven by Playwright for .NET (its own browser downloads are not used): one browser per test,
/// one context per person. Every page's console errors (a script error, a blocked resource, a CSP violation) are
/// collected, and <see cref="DisposeAsync"/> fails the test when there were any.
/// </summary>
public sealed class ConsoleBrowser : IAsyncDisposable
{
    private readonly IPlaywright _playwright;
    private readonly IBrowser _browser;
    private readonly Uri _baseUrl;

    private ConsoleBrowser(IPlaywright playwright, IBrowser browser, Uri baseUrl) => (_playwright, _browser, _baseUrl) = (playwright, browser, baseUrl);

    public List<string> ConsoleErrors { get; } = [];

    /// <summary>Where the tests write screenshots of the pages (not committed): a reviewer looks at them.</summary>
    public static string ScreenshotDirectory => Directory.CreateDirectory(Path.Combine(AppContext.BaseDirectory, "console-screenshots")).FullName;

    public static async Task<ConsoleBrowser> LaunchAsync(Uri baseUrl)
    {
        // Every wait is for something the page shows; on a machine running the whole suite at once that can take a while.
        Assertions.SetDefaultExpectTimeout(30_000);
        var playwright = await Playwright.CreateAsync();
        var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = ChromiumPath(),
            Headless = true,
            // Root in CI containers: chromium's sandbox needs user namespaces that containers seldom grant.
            Args = ["--no-sandbox", "--disable-dev-shm-usage"],
        });
        return new ConsoleBrowser(playwright, browser, baseUrl);
    }

    /// <summary>A new person: their own cookies. A phone-sized viewport when <paramref name="phone"/>.</summary>
    public async Task<IPage> NewPersonAsync(bool phone = false)
    {
        var context = await _browser.NewContextAsync(new BrowserNewContextOptions
        {
            BaseURL = _baseUrl.ToString(),
            ViewportSize = phone ? new ViewportSize { Width = 390, Height = 844 } : new ViewportSize { Width = 1280, Height = 900 },
            IsMobile = phone,
            HasTouch = phone,
            Permissions = ["clipboard-read", "clipboard-write"],
        });
        var page = await context.NewPageAsync();
        page.Console += (_, message) =>
        {
            if (message.Type == "error")
            {
                ConsoleErrors.Add($"{page.Url}: {message.Text}");
            }
        };
        page.PageError += (_, error) => ConsoleErrors.Add($"{page.Url}: {error}");
        return page;
    }

    public static async Task ScreenshotAsync(IPage page, string name) =>
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(ScreenshotDirectory, name + ".png"), FullPage = true });

    public async ValueTask DisposeAsync()
    {
        await _browser.DisposeAsync();
        _playwright.Dispose();
        Assert.True(ConsoleErrors.Count == 0, "The browser reported errors:\n" + string.Join("\n", ConsoleErrors));
    }

    private static string ChromiumPath() =>
        new[] { Environment.GetEnvironmentVariable("CHROMIUM_PATH"), "/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome" }
            .FirstOrDefault(p => !string.IsNullOrEmpty(p) && File.Exists(p))
        ?? throw new InvalidOperationException("No chromium found: install Debian's chromium (apt-get install -y chromium) or set CHROMIUM_PATH.");
}
