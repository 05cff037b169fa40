"""The accounts-receivable ledger of customs accounts: its rules, as pure functions.

Nothing here reads or writes a database (`store/` does, and an import contract keeps it
so).  The rules take typed records — the items of the accounts a job touches, the facts
a payment's checks need — and return plans: journal entries, items to open, notices,
problems.

    model         records and vocabularies (items, entries, notices; kinds, reasons)
    journal       what a balanced entry is
    policy        every policy number, overridable from TOML
    calendar      billing periods, due dates, business days, cut-offs (D17-R14, R15, R31, R32)
    checks        the account-data checks of a payment (824 findings, D17-R3)
    allocation    applying a payment: oldest due first (decision L3), credits, suspense
    offsetting    credits against debts, an agent's first (D17-R10, R11)
    close         period close: offsetting, closing balances, disbursements (D17-R12, R13)
    interest      daily-compounded interest over the journal's history (D17-R33)
    collections   settlement, penalties, interest, arrears, security (D17-R33…R38)
    suspense      money set aside: applied to an account or returned to the FI, once
    declarations  the declarations feed: debts, reassessments, refunds (D17-R8, R9)
    reference     reference data records (D17-R1…R5, Annex B)
    accounts      an account as of a day: balance, debts, credits, standing (D17-R36)
    corrections   a holder's correction of a penalty, interest or fee: reviewed, one adjusting entry (D17-R18)
    standing      the measures of D17-R38 (release hold, payment at release, security claims), dated
"""
