-- Mattermost table shapes the stand-in creates on MySQL/MariaDB (TEST ONLY).
-- Columns follow the real migrations in server/channels/db/migrations/mysql/
-- (Mattermost <= 10.11). Table names are CamelCase and, on Linux,
-- case-sensitive: queries must spell them exactly like this.
CREATE TABLE IF NOT EXISTS Teams (
    Id varchar(26) NOT NULL,
    CreateAt bigint(20) DEFAULT NULL,
    UpdateAt bigint(20) DEFAULT NULL,
    DeleteAt bigint(20) DEFAULT NULL,
    DisplayName varchar(64) DEFAULT NULL,
    Name varchar(64) DEFAULT NULL,
    Description varchar(255) DEFAULT NULL,
    Email varchar(128) DEFAULT NULL,
    Type enum('I','O') DEFAULT NULL,
    CompanyName varchar(64) DEFAULT NULL,
    AllowedDomains text,
    InviteId varchar(32) DEFAULT NULL,
    SchemeId varchar(26) DEFAULT NULL,
    AllowOpenInvite tinyint(1) DEFAULT NULL,
    LastTeamIconUpdate bigint(20) DEFAULT NULL,
    GroupConstrained tinyint(1) DEFAULT NULL,
    PRIMARY KEY (Id),
    UNIQUE KEY Name (Name)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
CREATE TABLE IF NOT EXISTS TeamMembers (
    TeamId varchar(26) NOT NULL,
    UserId varchar(26) NOT NULL,
    Roles varchar(64) DEFAULT NULL,
    DeleteAt bigint(20) DEFAULT NULL,
    SchemeUser tinyint(4) DEFAULT NULL,
    SchemeAdmin tinyint(4) DEFAULT NULL,
    SchemeGuest tinyint(4) DEFAULT NULL,
    PRIMARY KEY (TeamId, UserId),
    KEY idx_teammembers_user_id (UserId)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
CREATE TABLE IF NOT EXISTS Users (
    Id varchar(26) NOT NULL,
    CreateAt bigint(20) DEFAULT NULL,
    UpdateAt bigint(20) DEFAULT NULL,
    DeleteAt bigint(20) DEFAULT NULL,
    Username varchar(64) DEFAULT NULL,
    Password varchar(128) DEFAULT NULL,
    AuthData varchar(128) DEFAULT NULL,
    AuthService varchar(32) DEFAULT NULL,
    Email varchar(128) DEFAULT NULL,
    EmailVerified tinyint(1) DEFAULT NULL,
    Nickname varchar(64) DEFAULT NULL,
    FirstName varchar(64) DEFAULT NULL,
    LastName varchar(64) DEFAULT NULL,
    Roles text,
    AllowMarketing tinyint(1) DEFAULT NULL,
    Props text,
    NotifyProps text,
    LastPasswordUpdate bigint(20) DEFAULT NULL,
    LastPictureUpdate bigint(20) DEFAULT NULL,
    FailedAttempts int(11) DEFAULT NULL,
    Locale varchar(5) DEFAULT NULL,
    MfaActive tinyint(1) DEFAULT NULL,
    MfaSecret varchar(128) DEFAULT NULL,
    Position varchar(128) DEFAULT NULL,
    Timezone text,
    RemoteId varchar(26) DEFAULT NULL,
    PRIMARY KEY (Id),
    UNIQUE KEY Username (Username),
    UNIQUE KEY AuthData (AuthData),
    UNIQUE KEY Email (Email)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
CREATE TABLE IF NOT EXISTS Channels (
    Id varchar(26) NOT NULL,
    CreateAt bigint(20) DEFAULT NULL,
    UpdateAt bigint(20) DEFAULT NULL,
    DeleteAt bigint(20) DEFAULT NULL,
    TeamId varchar(26) DEFAULT NULL,
    Type varchar(1) DEFAULT NULL,
    DisplayName varchar(64) DEFAULT NULL,
    Name varchar(64) DEFAULT NULL,
    Header text,
    Purpose varchar(250) DEFAULT NULL,
    LastPostAt bigint(20) DEFAULT NULL,
    TotalMsgCount bigint(20) DEFAULT NULL,
    ExtraUpdateAt bigint(20) DEFAULT NULL,
    CreatorId varchar(26) DEFAULT NULL,
    PRIMARY KEY (Id),
    UNIQUE KEY Name (Name, TeamId),
    KEY idx_channels_team_id (TeamId)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
CREATE TABLE IF NOT EXISTS Posts (
    Id varchar(26) NOT NULL,
    CreateAt bigint(20) DEFAULT NULL,
    UpdateAt bigint(20) DEFAULT NULL,
    DeleteAt bigint(20) DEFAULT NULL,
    UserId varchar(26) DEFAULT NULL,
    ChannelId varchar(26) DEFAULT NULL,
    RootId varchar(26) DEFAULT NULL,
    ParentId varchar(26) DEFAULT NULL,
    OriginalId varchar(26) DEFAULT NULL,
    Message text,
    Type varchar(26) DEFAULT NULL,
    Props text,
    Hashtags text,
    Filenames text,
    FileIds varchar(300) DEFAULT NULL,
    HasReactions tinyint(1) DEFAULT NULL,
    EditAt bigint(20) DEFAULT NULL,
    IsPinned tinyint(1) DEFAULT NULL,
    RemoteId varchar(26) DEFAULT NULL,
    PRIMARY KEY (Id),
    KEY idx_posts_create_at (CreateAt),
    KEY idx_posts_root_id (RootId),
    KEY idx_posts_is_pinned (IsPinned)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
CREATE TABLE IF NOT EXISTS Reactions (
    UserId varchar(26) NOT NULL,
    PostId varchar(26) NOT NULL,
    EmojiName varchar(64) NOT NULL,
    CreateAt bigint(20) DEFAULT NULL,
    UpdateAt bigint(20) DEFAULT NULL,
    DeleteAt bigint(20) DEFAULT NULL,
    RemoteId varchar(26) DEFAULT NULL,
    PRIMARY KEY (PostId, UserId, EmojiName)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
CREATE TABLE IF NOT EXISTS FileInfo (
    Id varchar(26) NOT NULL,
    CreatorId varchar(26) DEFAULT NULL,
    PostId varchar(26) DEFAULT NULL,
    CreateAt bigint(20) DEFAULT NULL,
    UpdateAt bigint(20) DEFAULT NULL,
    DeleteAt bigint(20) DEFAULT NULL,
    Path text,
    ThumbnailPath text,
    PreviewPath text,
    Name text,
    Extension varchar(64) DEFAULT NULL,
    Size bigint(20) DEFAULT NULL,
    MimeType text,
    Width int(11) DEFAULT NULL,
    Height int(11) DEFAULT NULL,
    HasPreviewImage tinyint(1) DEFAULT NULL,
    MiniPreview mediumblob,
    Content longtext,
    RemoteId varchar(26) DEFAULT NULL,
    PRIMARY KEY (Id),
    KEY idx_fileinfo_postid_at (PostId)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
CREATE TABLE IF NOT EXISTS Threads (
    PostId varchar(26) NOT NULL,
    ReplyCount bigint(20) DEFAULT NULL,
    LastReplyAt bigint(20) DEFAULT NULL,
    Participants longtext,
    ChannelId varchar(26) DEFAULT NULL,
    PRIMARY KEY (PostId)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
CREATE TABLE IF NOT EXISTS ThreadMemberships (
    PostId varchar(26) NOT NULL,
    UserId varchar(26) NOT NULL,
    Following tinyint(1) DEFAULT NULL,
    LastViewed bigint(20) DEFAULT NULL,
    LastUpdated bigint(20) DEFAULT NULL,
    UnreadMentions bigint(20) DEFAULT NULL,
    PRIMARY KEY (PostId, UserId)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
CREATE TABLE IF NOT EXISTS Preferences (
    UserId varchar(26) NOT NULL,
    Category varchar(32) NOT NULL,
    Name varchar(32) NOT NULL,
    Value text,
    PRIMARY KEY (UserId, Category, Name),
    KEY idx_preferences_name (Name)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
CREATE TABLE IF NOT EXISTS ClusterDiscovery (
    Id varchar(26) NOT NULL,
    Type varchar(64) DEFAULT NULL,
    ClusterName varchar(64) DEFAULT NULL,
    Hostname text,
    GossipPort int(11) DEFAULT NULL,
    Port int(11) DEFAULT NULL,
    CreateAt bigint(20) DEFAULT NULL,
    LastPingAt bigint(20) DEFAULT NULL,
    PRIMARY KEY (Id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
-- Login sessions, shared by every server of a cluster (the real Sessions table,
-- server/channels/store/sqlstore/session_store.go).
CREATE TABLE IF NOT EXISTS Sessions (
    Id varchar(26) PRIMARY KEY,
    Token varchar(26) UNIQUE,
    UserId varchar(26),
    CreateAt bigint
);
