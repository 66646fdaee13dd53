-- Mattermost table shapes the stand-in creates on PostgreSQL (TEST ONLY).
-- Columns and indexes follow the real migrations in
-- server/channels/db/migrations/postgres/ (000001 teams, 000002 team_members,
-- 000016 reactions, 000020 posts, 000026 preferences, 000042 threads,
-- 000043 thread_memberships, 000046 users, 000047 file_info, 000049 channels), reduced to the
-- columns that existed in them; unquoted names fold to lower case.
CREATE TABLE IF NOT EXISTS teams (
    id VARCHAR(26) PRIMARY KEY,
    createat bigint,
    updateat bigint,
    deleteat bigint,
    displayname VARCHAR(64),
    name VARCHAR(64),
    description VARCHAR(255),
    email VARCHAR(128),
    type VARCHAR(255),
    companyname VARCHAR(64),
    alloweddomains VARCHAR(1000),
    inviteid VARCHAR(32),
    schemeid VARCHAR(26),
    allowopeninvite boolean,
    lastteamiconupdate bigint,
    groupconstrained boolean,
    UNIQUE(name)
);
CREATE TABLE IF NOT EXISTS teammembers (
    teamid VARCHAR(26) NOT NULL,
    userid VARCHAR(26) NOT NULL,
    roles VARCHAR(64),
    deleteat bigint,
    schemeuser boolean,
    schemeadmin boolean,
    schemeguest boolean,
    PRIMARY KEY (teamid, userid)
);
CREATE INDEX IF NOT EXISTS idx_teammembers_user_id ON teammembers (userid);
CREATE TABLE IF NOT EXISTS users (
    id VARCHAR(26) PRIMARY KEY,
    createat bigint,
    updateat bigint,
    deleteat bigint,
    username VARCHAR(64) UNIQUE,
    password VARCHAR(128),
    authdata VARCHAR(128) UNIQUE,
    authservice VARCHAR(32),
    email VARCHAR(128) UNIQUE,
    emailverified boolean,
    nickname VARCHAR(64),
    firstname VARCHAR(64),
    lastname VARCHAR(64),
    roles VARCHAR(256),
    allowmarketing boolean,
    props VARCHAR(4000),
    notifyprops VARCHAR(2000),
    lastpasswordupdate bigint,
    lastpictureupdate bigint,
    failedattempts integer,
    locale VARCHAR(5),
    mfaactive boolean,
    mfasecret VARCHAR(128),
    position VARCHAR(128),
    timezone VARCHAR(256),
    remoteid VARCHAR(26)
);
CREATE TABLE IF NOT EXISTS channels (
    id VARCHAR(26) PRIMARY KEY,
    createat bigint,
    updateat bigint,
    deleteat bigint,
    teamid VARCHAR(26),
    type VARCHAR(1),
    displayname VARCHAR(64),
    name VARCHAR(64),
    header VARCHAR(1024),
    purpose VARCHAR(128),
    lastpostat bigint,
    totalmsgcount bigint,
    extraupdateat bigint,
    creatorid VARCHAR(26),
    UNIQUE(name, teamid)
);
CREATE INDEX IF NOT EXISTS idx_channels_team_id ON channels (teamid);
CREATE TABLE IF NOT EXISTS posts (
    id VARCHAR(26) PRIMARY KEY,
    createat bigint,
    updateat bigint,
    deleteat bigint,
    userid VARCHAR(26),
    channelid VARCHAR(26),
    rootid VARCHAR(26),
    parentid VARCHAR(26),
    originalid VARCHAR(26),
    message VARCHAR(65535),
    type VARCHAR(26),
    props VARCHAR(8000),
    hashtags VARCHAR(1000),
    filenames VARCHAR(4000),
    fileids VARCHAR(300),
    hasreactions boolean,
    editat bigint,
    ispinned boolean,
    remoteid VARCHAR(26)
);
CREATE INDEX IF NOT EXISTS idx_posts_create_at ON posts (createat);
CREATE INDEX IF NOT EXISTS idx_posts_root_id ON posts (rootid);
CREATE INDEX IF NOT EXISTS idx_posts_is_pinned ON posts (ispinned);
CREATE TABLE IF NOT EXISTS reactions (
    userid VARCHAR(26) NOT NULL,
    postid VARCHAR(26) NOT NULL,
    emojiname VARCHAR(64) NOT NULL,
    createat bigint,
    updateat bigint,
    deleteat bigint,
    remoteid VARCHAR(26),
    PRIMARY KEY (postid, userid, emojiname)
);
CREATE TABLE IF NOT EXISTS fileinfo (
    id VARCHAR(26) PRIMARY KEY,
    creatorid VARCHAR(26),
    postid VARCHAR(26),
    createat bigint,
    updateat bigint,
    deleteat bigint,
    path VARCHAR(512),
    thumbnailpath VARCHAR(512),
    previewpath VARCHAR(512),
    name VARCHAR(256),
    extension VARCHAR(64),
    size bigint,
    mimetype VARCHAR(256),
    width integer,
    height integer,
    haspreviewimage boolean,
    minipreview bytea,
    content text,
    remoteid VARCHAR(26)
);
CREATE INDEX IF NOT EXISTS idx_fileinfo_postid_at ON fileinfo (postid);
CREATE TABLE IF NOT EXISTS threads (
    postid VARCHAR(26) PRIMARY KEY,
    replycount bigint,
    lastreplyat bigint,
    participants text,
    channelid VARCHAR(26)
);
CREATE TABLE IF NOT EXISTS threadmemberships (
    postid VARCHAR(26) NOT NULL,
    userid VARCHAR(26) NOT NULL,
    following boolean,
    lastviewed bigint,
    lastupdated bigint,
    unreadmentions bigint,
    PRIMARY KEY (postid, userid)
);
CREATE TABLE IF NOT EXISTS preferences (
    userid varchar(26) NOT NULL,
    category varchar(32) NOT NULL,
    name varchar(32) NOT NULL,
    value varchar(2000),
    PRIMARY KEY (userid, category, name)
);
CREATE INDEX IF NOT EXISTS idx_preferences_name ON preferences (name);
CREATE TABLE IF NOT EXISTS clusterdiscovery (
    id varchar(26) PRIMARY KEY,
    type varchar(64),
    clustername varchar(64),
    hostname varchar(512),
    gossipport integer,
    port integer,
    createat bigint,
    lastpingat bigint
);
-- Login sessions, shared by every server of a cluster (the real Sessions table,
-- server/channels/store/sqlstore/session_store.go).
CREATE TABLE IF NOT EXISTS sessions (
    id varchar(26) PRIMARY KEY,
    token varchar(26) UNIQUE,
    userid varchar(26),
    createat bigint
);
