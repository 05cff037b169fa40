"""Partner folders and the trading-partner registry.

    folders    `PartnerFolders` (inbox, claim, read, outbox, file away), `LocalFolders`, `TransportError`
    sftp       `SftpFolders`: the same over SFTP (paramiko) against the OpenSSH server of `sftp_inbox/`
    partners   the registry: who may send files, from which SFTP account, under which X12 IDs
"""
