#!/usr/bin/env bash
# Packages the TEST-ONLY Mattermost stand-in (crate `mattermost-standin`)
# as tarballs shaped like the real Mattermost release tarballs.
#
# Usage: standin-tarball.sh OUTDIR VERSION [VERSION...]
#
# For every VERSION it builds the stand-in twice (Enterprise and Team
# Edition) and writes
#   OUTDIR/VERSION/mattermost-VERSION-linux-amd64.tar.gz        (enterprise)
#   OUTDIR/VERSION/mattermost-team-VERSION-linux-amd64.tar.gz   (team)
# and records "sha256  VERSION/filename" lines in OUTDIR/SHA256SUMS
# (existing lines for VERSION are replaced).
#
# Environment:
#   FAULT=unhealthy     bake the "unhealthy" fault in (ping answers 500)
#   CARGO_TARGET_DIR    honoured (default: <workspace>/target)
#   CARGO_BUILD_TARGET  honoured (e.g. x86_64-unknown-linux-musl for static stand-ins)
#   SOURCE_DATE_EPOCH   mtime of the archive members (default 2024-01-01)
#   CARGO               cargo binary (default: cargo)
#
# Standard output: only the final list "sha256  path" of the files written.
# Everything else (cargo output, errors) goes to standard error.
set -euo pipefail

usage() {
    echo "usage: $(basename "$0") OUTDIR VERSION [VERSION...]" >&2
    echo "  env: FAULT=unhealthy, CARGO_TARGET_DIR, SOURCE_DATE_EPOCH, CARGO" >&2
    exit 2
}

[ "$#" -ge 2 ] || usage
OUTDIR=$1
shift
VERSIONS=("$@")

FAULT=${FAULT:-}
case "$FAULT" in
    "" | unhealthy) ;;
    *)
        echo "FAULT must be empty or 'unhealthy', got '$FAULT'" >&2
        exit 2
        ;;
esac
for v in "${VERSIONS[@]}"; do
    if ! [[ $v =~ ^[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.]+)?$ ]]; then
        echo "invalid version '$v' (expected X.Y.Z)" >&2
        exit 2
    fi
done

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$SCRIPT_DIR/../.." && pwd)
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
case "$TARGET_DIR" in
    /*) ;;
    *) TARGET_DIR=$PWD/$TARGET_DIR ;;
esac
CARGO=${CARGO:-cargo}
MTIME=${SOURCE_DATE_EPOCH:-1704067200}

mkdir -p "$OUTDIR" "$TARGET_DIR"
OUTDIR=$(cd "$OUTDIR" && pwd)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/standin-tarball.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

# Builds the stand-in for VERSION/EDITION and copies the two binaries to DEST.
# Build and copy happen under a lock so that concurrent runs with other
# versions cannot swap the binaries in between.
build_bins() {
    local version=$1 edition=$2 dest=$3
    mkdir -p "$dest"
    local lock=$TARGET_DIR/.standin-tarball.lock
    (
        if command -v flock >/dev/null 2>&1; then
            exec 9>"$lock"
            flock 9
        fi
        cd "$ROOT"
        STANDIN_VERSION=$version STANDIN_EDITION=$edition STANDIN_FAULT=$FAULT \
            CARGO_TARGET_DIR=$TARGET_DIR \
            "$CARGO" build -p mattermost-standin --release --bins 1>&2
        # CARGO_BUILD_TARGET (e.g. x86_64-unknown-linux-musl: static binaries) puts them below the triple
        local bin_dir=$TARGET_DIR/${CARGO_BUILD_TARGET:+$CARGO_BUILD_TARGET/}release
        cp "$bin_dir/mattermost" "$dest/mattermost"
        cp "$bin_dir/mmctl" "$dest/mmctl"
    )
}

write_config_json() {
    cat <<'JSON'
{
    "ServiceSettings": {
        "SiteURL": "",
        "WebsocketURL": "",
        "LicenseFileLocation": "",
        "ListenAddress": ":8065",
        "ConnectionSecurity": "",
        "TLSCertFile": "",
        "TLSKeyFile": "",
        "TLSMinVer": "1.2",
        "TLSStrictTransport": false,
        "TLSStrictTransportMaxAge": 63072000,
        "TLSOverwriteCiphers": [],
        "UseLetsEncrypt": false,
        "LetsEncryptCertificateCacheFile": "./config/letsencrypt.cache",
        "Forward80To443": false,
        "TrustedProxyIPHeader": [],
        "ReadTimeout": 300,
        "WriteTimeout": 300,
        "IdleTimeout": 60,
        "MaximumLoginAttempts": 10,
        "GoroutineHealthThreshold": -1,
        "EnableOAuthServiceProvider": true,
        "EnableIncomingWebhooks": true,
        "EnableOutgoingWebhooks": true,
        "EnableCommands": true,
        "EnablePostUsernameOverride": false,
        "EnablePostIconOverride": false,
        "EnableLinkPreviews": true,
        "EnableTesting": false,
        "EnableDeveloper": false,
        "EnableSecurityFixAlert": true,
        "EnableInsecureOutgoingConnections": false,
        "AllowedUntrustedInternalConnections": "",
        "EnableMultifactorAuthentication": false,
        "EnforceMultifactorAuthentication": false,
        "EnableUserAccessTokens": false,
        "AllowCorsFrom": "",
        "CorsExposedHeaders": "",
        "CorsAllowCredentials": false,
        "CorsDebug": false,
        "AllowCookiesForSubdomains": false,
        "ExtendSessionLengthWithActivity": true,
        "SessionLengthWebInHours": 720,
        "SessionLengthMobileInHours": 720,
        "SessionLengthSSOInHours": 720,
        "SessionCacheInMinutes": 10,
        "WebsocketSecurePort": 443,
        "WebsocketPort": 80,
        "WebserverMode": "gzip",
        "EnableCustomEmoji": true,
        "EnableEmojiPicker": true,
        "EnableGifPicker": true,
        "EnableLocalMode": false,
        "LocalModeSocketLocation": "/var/tmp/mattermost_local.socket",
        "EnableAPITeamDeletion": false,
        "EnableAPIUserDeletion": false,
        "EnableAPIChannelDeletion": false,
        "ExperimentalEnableHardenedMode": false,
        "EnableOpenTracing": false
    },
    "TeamSettings": {
        "SiteName": "Mattermost",
        "MaxUsersPerTeam": 50,
        "EnableJoinLeaveMessageByDefault": true,
        "EnableUserCreation": true,
        "EnableOpenServer": false,
        "EnableUserDeactivation": false,
        "RestrictCreationToDomains": "",
        "EnableCustomUserStatuses": true,
        "EnableCustomBrand": false,
        "CustomBrandText": "",
        "CustomDescriptionText": "",
        "RestrictDirectMessage": "any",
        "EnableLastActiveTime": true,
        "UserStatusAwayTimeout": 300,
        "MaxChannelsPerTeam": 2000,
        "MaxNotificationsPerChannel": 1000,
        "EnableConfirmNotificationsToChannel": true,
        "TeammateNameDisplay": "username",
        "ExperimentalViewArchivedChannels": true,
        "LockTeammateNameDisplay": false,
        "ExperimentalPrimaryTeam": "",
        "ExperimentalDefaultChannels": []
    },
    "ClientRequirements": {
        "AndroidLatestVersion": "",
        "AndroidMinVersion": "",
        "IosLatestVersion": "",
        "IosMinVersion": ""
    },
    "SqlSettings": {
        "DriverName": "postgres",
        "DataSource": "postgres://mmuser:mostest@localhost/mattermost_test?sslmode=disable\u0026connect_timeout=10\u0026binary_parameters=yes",
        "DataSourceReplicas": [],
        "DataSourceSearchReplicas": [],
        "MaxIdleConns": 50,
        "ConnMaxLifetimeMilliseconds": 3600000,
        "ConnMaxIdleTimeMilliseconds": 300000,
        "MaxOpenConns": 100,
        "Trace": false,
        "AtRestEncryptKey": "",
        "QueryTimeout": 30,
        "DisableDatabaseSearch": false,
        "MigrationsStatementTimeoutSeconds": 100000,
        "ReplicaLagSettings": [],
        "ReplicaMonitorIntervalSeconds": 5
    },
    "LogSettings": {
        "EnableConsole": true,
        "ConsoleLevel": "INFO",
        "ConsoleJson": true,
        "EnableColor": false,
        "EnableFile": true,
        "FileLevel": "INFO",
        "FileJson": true,
        "FileLocation": "",
        "EnableWebhookDebugging": true,
        "EnableDiagnostics": true,
        "VerboseDiagnostics": false,
        "EnableSentry": true,
        "AdvancedLoggingJSON": {},
        "MaxFieldSize": 2048
    },
    "ExperimentalAuditSettings": {
        "FileEnabled": false,
        "FileName": "",
        "FileMaxSizeMB": 100,
        "FileMaxAgeDays": 0,
        "FileMaxBackups": 0,
        "FileCompress": false,
        "FileMaxQueueSize": 1000,
        "AdvancedLoggingJSON": {}
    },
    "NotificationLogSettings": {
        "EnableConsole": true,
        "ConsoleLevel": "INFO",
        "ConsoleJson": true,
        "EnableColor": false,
        "EnableFile": true,
        "FileLevel": "INFO",
        "FileJson": true,
        "FileLocation": "",
        "AdvancedLoggingJSON": {}
    },
    "PasswordSettings": {
        "MinimumLength": 8,
        "Lowercase": false,
        "Number": false,
        "Uppercase": false,
        "Symbol": false,
        "EnableForgotLink": true
    },
    "FileSettings": {
        "EnableFileAttachments": true,
        "EnableMobileUpload": true,
        "EnableMobileDownload": true,
        "MaxFileSize": 104857600,
        "MaxImageResolution": 33177600,
        "MaxImageDecoderConcurrency": -1,
        "DriverName": "local",
        "Directory": "./data/",
        "EnablePublicLink": false,
        "ExtractContent": true,
        "ArchiveRecursion": false,
        "PublicLinkSalt": "",
        "InitialFont": "nunito-bold.ttf",
        "AmazonS3AccessKeyId": "",
        "AmazonS3SecretAccessKey": "",
        "AmazonS3Bucket": "",
        "AmazonS3PathPrefix": "",
        "AmazonS3Region": "",
        "AmazonS3Endpoint": "s3.amazonaws.com",
        "AmazonS3SSL": true,
        "AmazonS3SignV2": false,
        "AmazonS3SSE": false,
        "AmazonS3Trace": false,
        "AmazonS3RequestTimeoutMilliseconds": 30000
    },
    "EmailSettings": {
        "EnableSignUpWithEmail": true,
        "EnableSignInWithEmail": true,
        "EnableSignInWithUsername": true,
        "SendEmailNotifications": false,
        "UseChannelInEmailNotifications": false,
        "RequireEmailVerification": false,
        "FeedbackName": "",
        "FeedbackEmail": "test@example.com",
        "ReplyToAddress": "test@example.com",
        "FeedbackOrganization": "",
        "EnableSMTPAuth": false,
        "SMTPUsername": "",
        "SMTPPassword": "",
        "SMTPServer": "",
        "SMTPPort": "",
        "SMTPServerTimeout": 10,
        "ConnectionSecurity": "",
        "SendPushNotifications": true,
        "PushNotificationServer": "https://push-test.mattermost.com",
        "PushNotificationContents": "full",
        "PushNotificationBuffer": 1000,
        "EnableEmailBatching": false,
        "EmailBatchingBufferSize": 256,
        "EmailBatchingInterval": 30,
        "SkipServerCertificateVerification": false,
        "EmailNotificationContentsType": "full",
        "LoginButtonColor": "#0000",
        "LoginButtonBorderColor": "#2389D7",
        "LoginButtonTextColor": "#2389D7"
    },
    "RateLimitSettings": {
        "Enable": false,
        "PerSec": 10,
        "MaxBurst": 100,
        "MemoryStoreSize": 10000,
        "VaryByRemoteAddr": true,
        "VaryByUser": false,
        "VaryByHeader": ""
    },
    "PrivacySettings": {
        "ShowEmailAddress": true,
        "ShowFullName": true
    },
    "SupportSettings": {
        "TermsOfServiceLink": "https://mattermost.com/pl/terms-of-use/",
        "PrivacyPolicyLink": "https://mattermost.com/pl/privacy-policy/",
        "AboutLink": "https://mattermost.com/pl/about-mattermost",
        "HelpLink": "https://mattermost.com/pl/help/",
        "ReportAProblemLink": "https://mattermost.com/pl/report-a-bug",
        "ForgotPasswordLink": "",
        "SupportEmail": "",
        "CustomTermsOfServiceEnabled": false,
        "CustomTermsOfServiceReAcceptancePeriod": 365,
        "EnableAskCommunityLink": true
    },
    "AnnouncementSettings": {
        "EnableBanner": false,
        "BannerText": "",
        "BannerColor": "#f2a93b",
        "BannerTextColor": "#333333",
        "AllowBannerDismissal": true,
        "AdminNoticesEnabled": true,
        "UserNoticesEnabled": true,
        "NoticesURL": "https://notices.mattermost.com/",
        "NoticesFetchFrequency": 3600,
        "NoticesSkipCache": false
    },
    "ThemeSettings": {
        "EnableThemeSelection": true,
        "DefaultTheme": "default",
        "AllowCustomThemes": true,
        "AllowedThemes": []
    },
    "GitLabSettings": {
        "Enable": false,
        "Secret": "",
        "Id": "",
        "Scope": "",
        "AuthEndpoint": "",
        "TokenEndpoint": "",
        "UserAPIEndpoint": "",
        "DiscoveryEndpoint": "",
        "ButtonText": "",
        "ButtonColor": ""
    },
    "GoogleSettings": {
        "Enable": false,
        "Secret": "",
        "Id": "",
        "Scope": "profile email",
        "AuthEndpoint": "https://accounts.google.com/o/oauth2/v2/auth",
        "TokenEndpoint": "https://www.googleapis.com/oauth2/v4/token",
        "UserAPIEndpoint": "https://people.googleapis.com/v1/people/me?personFields=names,emailAddresses,nicknames,metadata",
        "DiscoveryEndpoint": "",
        "ButtonText": "",
        "ButtonColor": ""
    },
    "Office365Settings": {
        "Enable": false,
        "Secret": "",
        "Id": "",
        "Scope": "User.Read",
        "AuthEndpoint": "https://login.microsoftonline.com/common/oauth2/v2.0/authorize",
        "TokenEndpoint": "https://login.microsoftonline.com/common/oauth2/v2.0/token",
        "UserAPIEndpoint": "https://graph.microsoft.com/v1.0/me",
        "DiscoveryEndpoint": "",
        "DirectoryId": ""
    },
    "OpenIdSettings": {
        "Enable": false,
        "Secret": "",
        "Id": "",
        "Scope": "profile openid email",
        "AuthEndpoint": "",
        "TokenEndpoint": "",
        "UserAPIEndpoint": "",
        "DiscoveryEndpoint": "",
        "ButtonText": "",
        "ButtonColor": "#145DBF"
    },
    "LdapSettings": {
        "Enable": false,
        "EnableSync": false,
        "LdapServer": "",
        "LdapPort": 389,
        "ConnectionSecurity": "",
        "BaseDN": "",
        "BindUsername": "",
        "BindPassword": "",
        "UserFilter": "",
        "GroupFilter": "",
        "EmailAttribute": "",
        "UsernameAttribute": "",
        "IdAttribute": "",
        "LoginIdAttribute": "",
        "SyncIntervalMinutes": 60,
        "SkipCertificateVerification": false,
        "QueryTimeout": 60,
        "MaxPageSize": 0,
        "LoginFieldName": ""
    },
    "ComplianceSettings": {
        "Enable": false,
        "Directory": "./data/",
        "EnableDaily": false,
        "BatchSize": 30000
    },
    "LocalizationSettings": {
        "DefaultServerLocale": "en",
        "DefaultClientLocale": "en",
        "AvailableLocales": "",
        "EnableExperimentalLocales": false
    },
    "SamlSettings": {
        "Enable": false,
        "EnableSyncWithLdap": false,
        "EnableSyncWithLdapIncludeAuth": false,
        "IgnoreGuestsLdapSync": false,
        "Verify": true,
        "Encrypt": true,
        "SignRequest": false,
        "IdpURL": "",
        "IdpDescriptorURL": "",
        "IdpMetadataURL": "",
        "ServiceProviderIdentifier": "",
        "AssertionConsumerServiceURL": "",
        "SignatureAlgorithm": "RSAwithSHA1",
        "CanonicalAlgorithm": "Canonical1.0",
        "ScopingIDPProviderId": "",
        "ScopingIDPName": "",
        "IdpCertificateFile": "",
        "PublicCertificateFile": "",
        "PrivateKeyFile": "",
        "LoginButtonText": "SAML"
    },
    "NativeAppSettings": {
        "AppCustomURLSchemes": [
            "mmauth://",
            "mmauthbeta://"
        ],
        "AppDownloadLink": "https://mattermost.com/pl/download-apps",
        "AndroidAppDownloadLink": "https://mattermost.com/pl/android-app/",
        "IosAppDownloadLink": "https://mattermost.com/pl/ios-app/",
        "MobileExternalBrowser": false
    },
    "ClusterSettings": {
        "Enable": false,
        "ClusterName": "",
        "OverrideHostname": "",
        "NetworkInterface": "",
        "BindAddress": "",
        "AdvertiseAddress": "",
        "UseIPAddress": true,
        "EnableGossipCompression": true,
        "EnableExperimentalGossipEncryption": false,
        "ReadOnlyConfig": true,
        "GossipPort": 8074,
        "MaxIdleConns": 100,
        "MaxIdleConnsPerHost": 128,
        "IdleConnTimeoutMilliseconds": 90000
    },
    "MetricsSettings": {
        "Enable": false,
        "BlockProfileRate": 0,
        "ListenAddress": ":8067",
        "EnableClientMetrics": true,
        "EnableNotificationMetrics": true
    },
    "ExperimentalSettings": {
        "ClientSideCertEnable": false,
        "ClientSideCertCheck": "secondary",
        "LinkMetadataTimeoutMilliseconds": 5000,
        "RestrictSystemAdmin": false,
        "EnableSharedChannels": false,
        "EnableRemoteClusterService": false,
        "DisableAppBar": false,
        "DisableRefetchingOnBrowserFocus": false,
        "DelayChannelAutocomplete": false,
        "DisableWakeUpReconnectHandler": false,
        "UsersStatusAndProfileFetchingPollIntervalMilliseconds": 3000
    },
    "AnalyticsSettings": {
        "MaxUsersForStatistics": 2500
    },
    "ElasticsearchSettings": {
        "ConnectionURL": "http://localhost:9200",
        "Backend": "elasticsearch",
        "Username": "elastic",
        "Password": "changeme",
        "EnableIndexing": false,
        "EnableSearching": false,
        "EnableAutocomplete": false,
        "Sniff": true,
        "PostIndexReplicas": 1,
        "PostIndexShards": 1,
        "ChannelIndexReplicas": 1,
        "ChannelIndexShards": 1,
        "UserIndexReplicas": 1,
        "UserIndexShards": 1,
        "AggregatePostsAfterDays": 365,
        "PostsAggregatorJobStartTime": "03:00",
        "IndexPrefix": "",
        "LiveIndexingBatchSize": 1,
        "BatchSize": 10000,
        "RequestTimeoutSeconds": 30,
        "SkipTLSVerification": false,
        "Trace": ""
    },
    "BleveSettings": {
        "IndexDir": "",
        "EnableIndexing": false,
        "EnableSearching": false,
        "EnableAutocomplete": false,
        "BatchSize": 10000
    },
    "DataRetentionSettings": {
        "EnableMessageDeletion": false,
        "EnableFileDeletion": false,
        "EnableBoardsDeletion": false,
        "MessageRetentionDays": 365,
        "MessageRetentionHours": 0,
        "FileRetentionDays": 365,
        "FileRetentionHours": 0,
        "BoardsRetentionDays": 365,
        "DeletionJobStartTime": "02:00",
        "BatchSize": 3000,
        "TimeBetweenBatchesMilliseconds": 100,
        "RetentionIdsBatchSize": 100,
        "PreservePinnedPosts": false
    },
    "MessageExportSettings": {
        "EnableExport": false,
        "ExportFormat": "actiance",
        "DailyRunTime": "01:00",
        "ExportFromTimestamp": 0,
        "BatchSize": 10000,
        "DownloadExportResults": false,
        "ChannelBatchSize": 100,
        "ChannelHistoryBatchSize": 10,
        "GlobalRelaySettings": {
            "CustomerType": "A9",
            "SMTPUsername": "",
            "SMTPPassword": "",
            "EmailAddress": "",
            "SMTPServerTimeout": 1800,
            "CustomSMTPServerName": "",
            "CustomSMTPPort": "25"
        }
    },
    "JobSettings": {
        "RunJobs": true,
        "RunScheduler": true,
        "CleanupJobsThresholdDays": -1,
        "CleanupConfigThresholdDays": -1
    },
    "PluginSettings": {
        "Enable": true,
        "EnableUploads": false,
        "AllowInsecureDownloadURL": false,
        "EnableHealthCheck": true,
        "Directory": "./plugins",
        "ClientDirectory": "./client/plugins",
        "Plugins": {},
        "PluginStates": {
            "com.mattermost.calls": {
                "Enable": true
            },
            "com.mattermost.nps": {
                "Enable": true
            },
            "playbooks": {
                "Enable": true
            }
        },
        "EnableMarketplace": true,
        "EnableRemoteMarketplace": true,
        "AutomaticPrepackagedPlugins": true,
        "RequirePluginSignature": false,
        "MarketplaceURL": "https://api.integrations.mattermost.com",
        "SignaturePublicKeyFiles": [],
        "ChimeraOAuthProxyURL": ""
    },
    "DisplaySettings": {
        "CustomURLSchemes": [],
        "MaxMarkdownNodes": 0
    },
    "GuestAccountsSettings": {
        "Enable": false,
        "HideTags": false,
        "AllowEmailAccounts": true,
        "EnforceMultifactorAuthentication": false,
        "RestrictCreationToDomains": ""
    },
    "ImageProxySettings": {
        "Enable": false,
        "ImageProxyType": "local",
        "RemoteImageProxyURL": "",
        "RemoteImageProxyOptions": ""
    },
    "CloudSettings": {
        "CWSURL": "https://customers.mattermost.com",
        "CWSAPIURL": "https://portal.internal.prod.cloud.mattermost.com",
        "CWSMock": false,
        "Disable": false
    },
    "ImportSettings": {
        "Directory": "./import",
        "RetentionDays": 30
    },
    "ExportSettings": {
        "Directory": "./export",
        "RetentionDays": 30
    }
}
JSON
}

# Fills STAGE/mattermost with the release layout for VERSION/EDITION,
# taking the binaries from BINDIR.
assemble() {
    local stage=$1 version=$2 edition=$3 bindir=$4
    local d=$stage/mattermost
    mkdir -p "$d"/bin "$d"/config "$d"/client "$d"/fonts "$d"/i18n \
        "$d"/templates "$d"/logs "$d"/prepackaged_plugins

    cp "$bindir/mattermost" "$d/bin/mattermost"
    cp "$bindir/mmctl" "$d/bin/mmctl"

    write_config_json >"$d/config/config.json"
    cat >"$d/config/README.md" <<'EOF'
# Configuration

`config.json` holds the server configuration. The server rewrites it on
start-up, so it must be writable by the user the server runs as.
Any setting can be overridden with an environment variable named
`MM_<SECTION>_<SETTING>`, e.g. `MM_SQLSETTINGS_DATASOURCE`.

(Mattermost stand-in: test-only package, not the real Mattermost server.)
EOF

    cat >"$d/client/root.html" <<EOF
<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Mattermost</title></head>
<body>
<noscript>To use Mattermost, please enable JavaScript.</noscript>
<div id="root" data-standin-version="$version" data-standin-edition="$edition"></div>
</body>
</html>
EOF
    cp "$d/client/root.html" "$d/client/index.html"

    printf 'placeholder font (Mattermost stand-in)\n' >"$d/fonts/nunito-bold.ttf"
    cat >"$d/i18n/en.json" <<'EOF'
[
  {
    "id": "api.context.404.app_error",
    "translation": "Sorry, we could not find the page."
  },
  {
    "id": "mattermost.current_version",
    "translation": "Current version is {{.Version}} ({{.BuildNumber}}/{{.BuildDate}}/{{.BuildHash}}/{{.BuildHashEnterprise}})"
  }
]
EOF
    cat >"$d/templates/welcome_body.html" <<'EOF'
{{define "welcome_body"}}<p>Welcome to Mattermost (stand-in template).</p>{{end}}
EOF

    cat >"$d/NOTICE.txt" <<'EOF'
Mattermost stand-in. This package is a test fixture for mattermost-setup;
it is NOT the Mattermost server and contains no Mattermost code.
EOF
    cat >"$d/README.md" <<EOF
# Mattermost stand-in $version ($edition)

Test-only package shaped like the official Mattermost release tarball.
\`bin/mattermost version\` reports $version.
EOF
    if [ "$edition" = enterprise ]; then
        printf 'Mattermost stand-in: placeholder for the Enterprise Edition license.\n' \
            >"$d/ENTERPRISE-EDITION-LICENSE.txt"
    else
        printf 'Mattermost stand-in: placeholder for the MIT compiled license.\n' \
            >"$d/MIT-COMPILED-LICENSE.md"
    fi

    find "$d" -type d -exec chmod 0755 {} +
    find "$d" -type f -exec chmod 0644 {} +
    chmod 0755 "$d/bin/mattermost" "$d/bin/mmctl"
    chmod 0600 "$d/config/config.json"
}

SUMS=$OUTDIR/SHA256SUMS
touch "$SUMS"
WRITTEN=()

for version in "${VERSIONS[@]}"; do
    mkdir -p "$OUTDIR/$version"
    new_lines=()
    for edition in enterprise team; do
        if [ "$edition" = enterprise ]; then
            name=mattermost-$version-linux-amd64.tar.gz
        else
            name=mattermost-team-$version-linux-amd64.tar.gz
        fi
        echo "standin-tarball: building $name${FAULT:+ (FAULT=$FAULT)}" >&2
        bindir=$WORK/bin-$version-$edition
        build_bins "$version" "$edition" "$bindir"

        stage=$WORK/stage-$version-$edition
        rm -rf "$stage"
        assemble "$stage" "$version" "$edition" "$bindir"

        out=$OUTDIR/$version/$name
        tar --sort=name --owner=0 --group=0 --numeric-owner --mtime="@$MTIME" \
            -C "$stage" -cf - mattermost | gzip -n -9 >"$out.tmp"
        mv -f "$out.tmp" "$out"
        sum=$(sha256sum "$out" | cut -d' ' -f1)
        new_lines+=("$sum  $version/$name")
        WRITTEN+=("$sum  $out")
    done
    # Replace this version's lines in SHA256SUMS.
    tmp=$(mktemp "$WORK/sums.XXXXXX")
    awk -v prefix="$version/" 'substr($2, 1, length(prefix)) != prefix' "$SUMS" >"$tmp"
    printf '%s\n' "${new_lines[@]}" >>"$tmp"
    sort -k2 "$tmp" >"$SUMS"
done

printf '%s\n' "${WRITTEN[@]}"
