// A tab opened from an anonymous tab (target=_blank, window.open, "open link in new tab") starts
// loading before the worker even hears that the tab exists: measured, its first request reached
// the server from the browser's own address. So while any tab is anonymous, one standing
// declarativeNetRequest session rule blocks every request of every tab the extension does not
// know yet, when a page of a site shown in an anonymous tab asked for it. A new tab is known once
// the extension has decided about it: made anonymous (and intercepted), or left alone.
import browser from 'webextension-polyfill';

/** Tab ids are below 2^31 and each tab's own rule uses its id; this one is out of their way. */
export const GUARD_RULE_ID = 2 ** 31 - 1;
/** Requests of no tab (service workers, extensions) are left to the tab rules and interception. */
const NO_TAB = -1;

export class OpenerGuard {
  private known = new Set<number>();
  private readonly hosts = new Set<string>();
  private active = false;

  /** Takes over the rule a stopped worker left behind. */
  async restore(): Promise<void> {
    const [rule] = await chrome.declarativeNetRequest.getSessionRules({ ruleIds: [GUARD_RULE_ID] });
    if (!rule) return;
    this.active = true;
    for (const host of rule.condition.initiatorDomains ?? []) this.hosts.add(host);
    // Tabs created while the worker was stopped stay blocked until they are decided about.
    this.known = new Set(rule.condition.excludedTabIds ?? []);
  }

  /** While a tab is anonymous, every tab that exists now is known; later ones must be decided. */
  async activate(): Promise<void> {
    if (this.active) return;
    this.active = true;
    this.known = new Set([NO_TAB, ...(await browser.tabs.query({})).flatMap((tab) => (tab.id === undefined ? [] : [tab.id]))]);
    await this.update();
  }

  async deactivate(): Promise<void> {
    if (!this.active) return;
    this.active = false;
    this.hosts.clear();
    await chrome.declarativeNetRequest.updateSessionRules({ removeRuleIds: [GUARD_RULE_ID] });
  }

  /** The extension decided about this tab; its requests are no longer the guard's business. */
  async decided(tabId: number): Promise<void> {
    if (!this.active || this.known.has(tabId)) return;
    this.known.add(tabId);
    await this.update();
  }

  isKnown(tabId: number): boolean {
    return !this.active || this.known.has(tabId);
  }

  forget(tabId: number): void {
    this.known.delete(tabId);
  }

  /** An anonymous tab shows a document of this host: tabs its pages open must wait. */
  async shown(host: string): Promise<void> {
    if (!this.active || host === '' || this.hosts.has(host)) return;
    this.hosts.add(host);
    await this.update();
  }

  private async update(): Promise<void> {
    const addRules: chrome.declarativeNetRequest.Rule[] =
      this.hosts.size === 0
        ? []
        : [
            {
              id: GUARD_RULE_ID,
              priority: 1,
              action: { type: chrome.declarativeNetRequest.RuleActionType.BLOCK },
              condition: {
                excludedTabIds: [...this.known],
                initiatorDomains: [...this.hosts],
                resourceTypes: Object.values(chrome.declarativeNetRequest.ResourceType),
              },
            },
          ];
    await chrome.declarativeNetRequest.updateSessionRules({ removeRuleIds: [GUARD_RULE_ID], addRules });
  }
}
