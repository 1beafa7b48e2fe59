using System.Text.RegularExpressions;
using Microsoft.Playwright;

namespace LlmApi.Tests.Console;

/// <summary>What a person does in the console, step by step, through the page as they see it (labels and buttons).</summary>
internal static partial class ConsolePages
{
    public static async Task SignInAsync(IPage page, string email, string password, string domain)
    {
        await page.GotoAsync("signin");
        await page.GetByLabel("Email").FillAsync(email);
        await page.GetByLabel("Password").FillAsync(password);
        await page.GetByLabel("Organisation domain").FillAsync(domain);
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        await SignedInAsync(page);
    }

    public static async Task SignInAsOperatorAsync(IPage page, string key)
    {
        await page.GotoAsync("signin/operator");
        await page.GetByLabel("Operator key").FillAsync(key);
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        await SignedInAsync(page);
        await Assertions.Expect(page).ToHaveURLAsync(OperatorHome());
    }

    /// <summary>
    /// Waits for the page a sign-in leads to: its header's "Sign out". Waits go by what the page shows, never by the
    /// browser's load events, which on a busy run once came more than 30 s after the page was there.
    /// </summary>
    public static Task SignedInAsync(IPage page) =>
        Assertions.Expect(page.GetByRole(AriaRole.Button, new() { Name = "Sign out" })).ToBeVisibleAsync();

    /// <summary>Follows a link of the main navigation.</summary>
    public static async Task GoToAsync(IPage page, string link)
    {
        var target = page.GetByRole(AriaRole.Navigation, new() { Name = "Main" }).GetByRole(AriaRole.Link, new() { Name = link, Exact = true });
        await target.ClickAsync();
        // The page has arrived when its own navigation marks the link as the current one.
        await Assertions.Expect(target).ToHaveClassAsync(ActiveLink());
    }

    /// <summary>The text of the first alert on the page (an error shown in place).</summary>
    public static async Task<string> AlertAsync(IPage page) => (await page.GetByRole(AriaRole.Alert).First.InnerTextAsync()).Trim();

    public static async Task<string> StatusAsync(IPage page) => (await page.GetByRole(AriaRole.Status).First.InnerTextAsync()).Trim();

    /// <summary>True when the page shows a stack trace or a bare status code, which it never should.</summary>
    public static async Task<bool> ShowsInternalsAsync(IPage page)
    {
        var text = await page.Locator("body").InnerTextAsync();
        return text.Contains("   at ", StringComparison.Ordinal) || text.Contains("Exception", StringComparison.Ordinal) || StatusCode().IsMatch(text);
    }

    [GeneratedRegex(@"\b(400|401|403|404|409|422|429|500|502|503)\b")]
    private static partial Regex StatusCode();

    [GeneratedRegex(@"\bactive\b")]
    private static partial Regex ActiveLink();

    [GeneratedRegex(@"/operator$")]
    private static partial Regex OperatorHome();
}
