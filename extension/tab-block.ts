// Fail-closed blocking of anonymous tabs with declarativeNetRequest session rules, one per tab
// (its id is the tab's id). Session rules outlive the service worker, so they hold while it is
// stopped. Two levels:
// - `all`: every request of the tab. Such a rule wins over debugger interception, so it is in
//   place only while the tab is not intercepted: before the debugger attaches, after it is lost.
// - `websockets`: while the tab is intercepted. Page WebSockets never reach the Fetch domain and
//   the debugger's URL blocking lets Chrome open the TCP connection before it refuses the
//   handshake (measured: the server saw the browser's own address); this rule stops them first.

export type BlockLevel = 'all' | 'websockets';

/** Every resource type this browser knows, main_frame included: a rule without it lets navigations pass. */
const allTypes = () => Object.values(chrome.declarativeNetRequest.ResourceType);

export async function blockTab(tabId: number, level: BlockLevel = 'all'): Promise<void> {
  const resourceTypes = level === 'all' ? allTypes() : [chrome.declarativeNetRequest.ResourceType.WEBSOCKET];
  await chrome.declarativeNetRequest.updateSessionRules({
    removeRuleIds: [tabId],
    addRules: [{ id: tabId, priority: 1, action: { type: chrome.declarativeNetRequest.RuleActionType.BLOCK }, condition: { tabIds: [tabId], resourceTypes } }],
  });
}

export async function unblockTab(tabId: number): Promise<void> {
  await chrome.declarativeNetRequest.updateSessionRules({ removeRuleIds: [tabId] });
}

export async function blockedTabs(): Promise<Set<number>> {
  const rules = await chrome.declarativeNetRequest.getSessionRules();
  return new Set(rules.flatMap((rule) => rule.condition.tabIds ?? []));
}
