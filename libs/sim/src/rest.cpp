// REST: envelopes, DTOs, routing, people, files, folder path, comment and fileops
// (docs/docspace-protocol.md §4.0-4.4, §4.7). Everything here runs on the io thread with the lock held.
#include "impl.hpp"

#include "spacehook/sim/dotnet_json.hpp"

#include <boost/asio/post.hpp>
#include <boost/json/array.hpp>
#include <boost/json/parse.hpp>

#include <algorithm>
#include <charconv>

#include <fmt/format.h>

namespace spacehook::sim {
namespace bh = http::beast_http;

namespace {

constexpr int folder_type_custom_room = 19;
constexpr int room_type_custom = 5;

constexpr std::string_view msg_file_not_found = "The required file was not found";
constexpr std::string_view msg_folder_not_found = "The required folder was not found";
constexpr std::string_view msg_read_file = "You don't have enough permission to view the file";
constexpr std::string_view msg_read_folder = "You don't have enough permission to view the folder content";
constexpr std::string_view msg_edit_file = "You do not have enough permissions to edit the file";
constexpr std::string_view msg_locked_file = "The file is currently locked by another user";

std::string extension_of(std::string_view title) {
    auto dot = title.rfind('.');
    if (dot == std::string_view::npos) return {};
    std::string ext(title.substr(dot));
    for (auto& ch : ext)
        if (ch >= 'A' && ch <= 'Z') ch = static_cast<char>(ch - 'A' + 'a');
    return ext;
}

// FileType enum of ASC.Files.Core: Unknown 0, Archive 1, Video 2, Audio 3, Image 4, Spreadsheet 5,
// Presentation 6, Document 7, Pdf 10.
int file_type_of(std::string_view ext) {
    static const std::pair<std::string_view, int> table[] = {
        {".pdf", 10},  {".docx", 7}, {".doc", 7},  {".odt", 7},  {".rtf", 7},  {".txt", 7},  {".md", 7},
        {".xlsx", 5},  {".xls", 5},  {".ods", 5},  {".csv", 5},  {".pptx", 6}, {".ppt", 6},  {".odp", 6},
        {".png", 4},   {".jpg", 4},  {".jpeg", 4}, {".gif", 4},  {".svg", 4},  {".zip", 1},  {".mp3", 3},
        {".mp4", 2},
    };
    for (const auto& [e, t] : table)
        if (e == ext) return t;
    return 0;
}

// At most `max` code points of a UTF-8 string (the comment column keeps 255 characters).
std::string truncate_code_points(std::string_view s, std::size_t max) {
    std::size_t count = 0, i = 0;
    while (i < s.size() && count < max) {
        ++i;
        while (i < s.size() && (static_cast<unsigned char>(s[i]) & 0xC0) == 0x80) ++i;
        ++count;
    }
    return std::string(s.substr(0, i));
}

std::optional<entry_id> parse_id(std::string_view s) {
    if (s.empty() || s.size() > 18) return std::nullopt;
    entry_id n = 0;
    for (char ch : s) {
        if (ch < '0' || ch > '9') return std::nullopt;
        n = n * 10 + (ch - '0');
    }
    return n;
}

std::optional<json::object> parse_body_object(const http::request& req) {
    boost::system::error_code ec;
    auto v = json::parse(req.body(), ec);
    if (ec || !v.is_object()) return std::nullopt;
    return std::move(v.get_object());
}

json::object security_of(access a, bool locked_for_viewer) {
    const bool full = a == access::full;
    const bool read = a != access::none;
    json::object s;
    s["Read"] = read;
    s["Comment"] = full;
    s["Edit"] = full && !locked_for_viewer;
    s["Delete"] = full;
    s["Rename"] = full;
    s["ReadHistory"] = read;
    s["Lock"] = full;
    s["EditHistory"] = full;
    s["Copy"] = read;
    s["Move"] = full;
    s["Duplicate"] = full;
    s["Download"] = read;
    return s;
}

}  // namespace

// ---------------------------------------------------------------------------------------------------------
// envelopes

namespace {

// CommonApiResponse: response, count, total (paged lists only), links, status, statusCode.
http::response success(const std::string& base, const call& c, json::value response, unsigned status,
                       std::optional<std::int64_t> total) {
    json::object env;
    std::size_t count = 1;
    if (response.is_array()) count = response.get_array().size();
    if (response.is_null()) count = 0;
    if (!response.is_null()) env["response"] = std::move(response);
    env["count"] = count;
    if (total) env["total"] = *total;
    json::object link;
    link["href"] = base + std::string(c.req.target());
    link["action"] = c.method;
    env["links"] = json::array{std::move(link)};
    env["status"] = 0;
    env["statusCode"] = status;
    return http::make_response(c.req, static_cast<bh::status>(status), dotnet_json::serialize(env),
                               "application/json; charset=utf-8");
}

}  // namespace

http::response docspace_sim::impl::ok(const call& c, json::value response, unsigned status) const {
    return success(base, c, std::move(response), status, std::nullopt);
}

http::response docspace_sim::impl::ok_paged(const call& c, json::array page, std::int64_t total) const {
    return success(base, c, std::move(page), 200, total);
}

http::response docspace_sim::impl::error(const call& c, unsigned status, std::string_view message,
                                         std::string_view type, long hresult) const {
    json::object err;
    err["message"] = message;
    err["type"] = type;
    err["stack"] = "";
    err["hresult"] = hresult;
    json::object env;
    env["error"] = std::move(err);
    env["status"] = 1;
    env["statusCode"] = status;
    return http::make_response(c.req, static_cast<bh::status>(status), dotnet_json::serialize(env),
                               "application/json; charset=utf-8");
}

http::response docspace_sim::impl::invalid_operation(const call& c, std::string_view message) const {
    return error(c, 403, message, "System.InvalidOperationException", hresult_invalid_operation);
}

http::response docspace_sim::impl::not_found(const call& c, std::string_view message) const {
    return error(c, 404, message, "ASC.Common.Web.ItemNotFoundException", hresult_exception);
}

http::response docspace_sim::impl::access_denied(const call& c) const {
    return error(c, 403, "Access denied", "System.Security.SecurityException", hresult_security);
}

http::response docspace_sim::impl::bad_argument(const call& c, std::string_view message) const {
    return error(c, 400, message, "System.ArgumentException", hresult_argument);
}

// Model validation failures: ASP.NET's ValidationProblemDetails inside the success envelope with status 1.
http::response docspace_sim::impl::validation_problem(const call& c, std::string_view field,
                                                      std::string_view message) const {
    json::object problem;
    problem["type"] = "https://tools.ietf.org/html/rfc9110#section-15.5.1";
    problem["title"] = "One or more validation errors occurred.";
    problem["status"] = 400;
    json::object errors;
    errors[field] = json::array{json::string(message)};
    problem["errors"] = std::move(errors);
    json::object env;
    env["response"] = std::move(problem);
    env["count"] = 1;
    json::object link;
    link["href"] = base + std::string(c.req.target());
    link["action"] = c.method;
    env["links"] = json::array{std::move(link)};
    env["status"] = 1;
    env["statusCode"] = 400;
    return http::make_response(c.req, bh::status::bad_request, dotnet_json::serialize(env),
                               "application/json; charset=utf-8");
}

// ---------------------------------------------------------------------------------------------------------
// DTOs

json::object docspace_sim::impl::employee_dto(const std::string& user_id) const {
    json::object o;
    o["id"] = user_id;
    auto it = users.find(user_id);
    o["displayName"] = it == users.end() ? std::string() : html_encode(it->second.display_name);
    o["avatarSmall"] = "/static/images/default_user_photo_size_32-32.png";
    o["profileUrl"] = fmt::format("{}/accounts/people/filter?search={}", base,
                                  it == users.end() ? std::string() : it->second.email);
    o["hasAvatar"] = false;
    return o;
}

json::object docspace_sim::impl::employee_full_dto(const std::string& user_id) const {
    const auto& u = users.at(user_id);
    json::object o;
    o["firstName"] = u.first_name;
    o["lastName"] = u.last_name;
    o["userName"] = u.email.substr(0, u.email.find('@'));
    o["email"] = u.email;
    o["status"] = 1;
    o["activationStatus"] = 1;
    o["department"] = "";
    o["isAdmin"] = u.admin;
    o["isRoomAdmin"] = false;
    o["isLDAP"] = false;
    o["isOwner"] = user_id == owner;
    o["isVisitor"] = u.guest;
    o["isCollaborator"] = false;
    o["cultureName"] = "en-US";
    o["isSSO"] = false;
    for (auto& m : employee_dto(user_id)) o[m.key()] = m.value();
    return o;
}

json::object docspace_sim::impl::file_dto(const file_state& f, const std::string& viewer) const {
    const auto& root = root_of(f.folder_id);
    const auto ext = extension_of(f.title);
    const auto& parent = folders.at(f.folder_id);
    const bool in_room = parent.room || root.id == rooms_root;
    json::object o;
    o["folderId"] = f.folder_id;
    o["version"] = f.version;
    o["versionGroup"] = f.version_group;
    o["contentLength"] = format_size(f.size);
    if (f.size != 0) o["pureContentLength"] = f.size;
    o["fileStatus"] = 0;
    o["mute"] = false;
    o["viewUrl"] = fmt::format("{}/filehandler.ashx?action=download&fileid={}", base, f.id);
    o["webUrl"] = fmt::format("{}/doceditor?fileid={}&version={}", base, f.id, f.version);
    o["fileType"] = file_type_of(ext);
    o["fileExst"] = ext;
    o["comment"] = f.comment;
    o["thumbnailStatus"] = 0;
    if (f.locked) {
        o["locked"] = true;
        if (!f.locked_by.empty() && f.locked_by != viewer) o["lockedBy"] = display_name(f.locked_by);
    }
    o["fileEntryType"] = 2;
    o["id"] = f.id;
    o["rootFolderId"] = root.id;
    o["canShare"] = false;
    o["security"] = security_of(access_of(viewer, f.folder_id), locked_for(f, viewer));
    o["title"] = f.title;
    o["access"] = 0;
    o["shared"] = false;
    o["sharedForUser"] = false;
    o["sharedExternal"] = false;
    o["parentShared"] = false;
    o["created"] = dotnet_json::api_date_time(f.created_ms, opt.utc_offset_minutes);
    o["createdBy"] = employee_dto(f.created_by);
    o["updated"] = dotnet_json::api_date_time(std::max(f.updated_ms, f.created_ms), opt.utc_offset_minutes);
    o["rootFolderType"] = root.id == rooms_root ? folder_type_virtual_rooms : 0;
    if (in_room) o["parentRoomType"] = folder_type_custom_room;
    o["updatedBy"] = employee_dto(f.updated_by);
    return o;
}

json::object docspace_sim::impl::folder_dto(const folder_state& f, const std::string& viewer) const {
    const auto& root = root_of(f.id);
    std::size_t nfiles = 0, nfolders = 0;
    for (const auto& [id, x] : files) nfiles += x.folder_id == f.id;
    for (const auto& [id, x] : folders) nfolders += x.parent_id == f.id && id != f.id;
    json::object o;
    o["parentId"] = f.parent_id;
    o["filesCount"] = nfiles;
    o["foldersCount"] = nfolders;
    o["new"] = 0;
    o["mute"] = false;
    if (f.room) {
        o["tags"] = json::array{};
        o["logo"] = json::object{};
    }
    o["pinned"] = false;
    if (f.room) o["roomType"] = room_type_custom;
    o["private"] = false;
    o["indexing"] = false;
    o["denyDownload"] = false;
    if (f.room) o["inRoom"] = true;
    o["fileEntryType"] = 1;
    o["id"] = f.id;
    o["rootFolderId"] = root.id;
    o["canShare"] = false;
    o["security"] = security_of(access_of(viewer, f.id), false);
    o["title"] = f.title;
    o["access"] = 0;
    o["shared"] = false;
    o["sharedForUser"] = false;
    o["sharedExternal"] = false;
    o["parentShared"] = false;
    o["created"] = dotnet_json::api_date_time(f.created_ms, opt.utc_offset_minutes);
    o["createdBy"] = employee_dto(f.created_by);
    o["updated"] = dotnet_json::api_date_time(f.created_ms, opt.utc_offset_minutes);
    o["rootFolderType"] = root.id == rooms_root ? folder_type_virtual_rooms : 0;
    if (!f.room && f.parent_id != 0 && root.id == rooms_root) o["parentRoomType"] = folder_type_custom_room;
    o["updatedBy"] = employee_dto(f.created_by);
    return o;
}

json::object docspace_sim::impl::fileop_dto(const fileop& op) const {
    json::object o;
    o["id"] = op.id;
    o["Operation"] = op.type;
    o["progress"] = op.progress;
    o["error"] = op.error;
    o["processed"] = std::to_string(op.processed);
    o["finished"] = op.finished;
    json::array result;
    for (auto id : op.result_files)
        if (auto it = files.find(id); it != files.end()) result.push_back(file_dto(it->second, op.owner));
    if (!result.empty()) o["files"] = std::move(result);
    o["status"] = op.status;
    return o;
}

// The FileEntry<int> base object a webhook payload carries (docs/docspace-protocol.md §2.5), in the order
// DocSpace writes it.
json::object docspace_sim::impl::file_entry_payload(const file_state& f) const {
    const auto& root = root_of(f.folder_id);
    json::object o;
    o["id"] = f.id;
    o["parentId"] = f.folder_id;
    o["folderIdDisplay"] = f.folder_id;
    o["rootId"] = root.id;
    o["securityByUsers"] = json::object{};
    o["title"] = f.title;
    o["createBy"] = f.created_by;
    o["modifiedBy"] = f.updated_by;
    o["createOn"] = dotnet_json::utc_seconds(f.created_ms);
    o["modifiedOn"] = dotnet_json::utc_seconds(std::max(f.updated_ms, f.created_ms));
    if (root.id == rooms_root) o["rootFolderType"] = folder_type_virtual_rooms;
    o["rootCreateBy"] = root.created_by;
    o["fileEntryType"] = 2;
    return o;
}

// ---------------------------------------------------------------------------------------------------------
// routing

http::response docspace_sim::impl::route_locked(call& c, int& async_mode) {
    async_mode = -1;
    const auto& s = c.seg;
    const auto n = s.size();
    const auto& m = c.method;
    if (n >= 2 && s[0] == "people" && m == "GET" && n == 2) {
        if (s[1] == "@self") return get_self(c);
        return get_person(c, s[1]);
    }
    if (n >= 2 && s[0] == "files") {
        if (s[1] == "file" && n == 3 && m == "GET") {
            if (auto id = parse_id(s[2])) return get_file(c, *id);
            return not_found(c, msg_file_not_found);
        }
        if (s[1] == "file" && n == 4 && s[3] == "comment" && m == "PUT") {
            if (auto id = parse_id(s[2])) return put_comment(c, *id);
            return invalid_operation(c, msg_file_not_found);
        }
        if (s[1] == "folder" && (n == 3 || (n == 4 && s[3] == "path")) && m == "GET") {
            auto id = parse_id(s[2]);
            if (!id) return not_found(c, msg_folder_not_found);
            return n == 3 ? get_folder(c, *id) : get_folder_path(c, *id);
        }
        if (n == 2 && m == "GET" && s[1] != "fileops") {
            if (auto id = parse_id(s[1])) return get_folder_content(c, *id);
            return not_found(c, msg_folder_not_found);
        }
        if (s[1] == "fileops") {
            if (n == 2 && m == "GET") return get_fileops(c, std::nullopt);
            if (n == 3 && m == "PUT" && s[2] == "move") return put_move_copy(c, 0);
            if (n == 3 && m == "PUT" && s[2] == "copy") return put_move_copy(c, 1);
            if (n == 3 && m == "GET" && s[2] == "move") return ok(c, json::array{});  // dry-run check: no conflicts
            if (n == 3 && m == "GET") {
                static constexpr std::string_view names[] = {"move",       "copy",    "delete",  "download",
                                                             "markasread", "import",  "convert", "duplicate"};
                for (int t = 0; t < 8; ++t)
                    if (s[2] == std::to_string(t) || iequals_ascii(s[2], names[t])) return get_fileops(c, t);
                return bad_argument(c, "Specified argument was out of the range of valid values.");
            }
            if ((n == 3 || n == 4) && m == "PUT" && s[2] == "terminate") return put_terminate(c, n == 4 ? s[3] : "");
        }
    }
    if (n >= 2 && s[0] == "settings" && s[1] == "webhook") {
        if (n == 2 && m == "GET") return get_webhooks(c);
        if (n == 2 && m == "POST") {
            async_mode = 0;
            return {};
        }
        if (n == 2 && m == "PUT") {
            async_mode = 1;
            return {};
        }
        if (n == 3 && s[2] == "enable" && m == "PUT") {
            async_mode = 2;
            return {};
        }
        if (n == 3 && s[2] == "triggers" && m == "GET") return get_webhook_triggers(c);
        if (n == 3 && s[2] == "retry" && m == "PUT") return put_webhooks_retry(c);
        if (n == 3 && m == "DELETE") {
            if (auto id = parse_id(s[2])) return delete_webhook(c, static_cast<int>(*id));
        }
        if (n == 4 && s[3] == "retry" && m == "PUT") {
            if (auto id = parse_id(s[2])) return put_webhook_retry(c, static_cast<int>(*id));
        }
    }
    if (n == 3 && s[0] == "settings" && s[1] == "webhooks" && s[2] == "log" && m == "GET") return get_webhooks_log(c);
    http::response res{bh::status::not_found, c.req.version()};
    res.prepare_payload();
    return res;
}

// ---------------------------------------------------------------------------------------------------------
// people

http::response docspace_sim::impl::get_self(const call& c) { return ok(c, employee_full_dto(c.user)); }

http::response docspace_sim::impl::get_person(const call& c, const std::string& id) {
    // A GUID is 36 characters of hex digits and hyphens at fixed places.
    bool guid = id.size() == 36;
    for (std::size_t i = 0; guid && i < id.size(); ++i) {
        const char ch = id[i];
        const bool hyphen_place = i == 8 || i == 13 || i == 18 || i == 23;
        guid = hyphen_place ? ch == '-' : std::isxdigit(static_cast<unsigned char>(ch)) != 0;
    }
    if (!guid) return bad_argument(c, "Incorrect UserId");
    std::string lower = id;
    for (auto& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    if (!users.count(lower)) return not_found(c, "The user could not be found");
    return ok(c, employee_full_dto(lower));
}

// ---------------------------------------------------------------------------------------------------------
// files and folders

http::response docspace_sim::impl::get_file(const call& c, entry_id id) {
    auto it = files.find(id);
    if (it == files.end()) return not_found(c, msg_file_not_found);
    if (access_of(c.user, it->second.folder_id) == access::none) return invalid_operation(c, msg_read_file);
    file_state f = it->second;
    if (auto v = c.query.find("version"); v != c.query.end() && !v->second.empty()) {
        auto version = parse_id(v->second);
        if (!version || !f.comments.count(static_cast<int>(*version))) return not_found(c, msg_file_not_found);
        if (*version != f.version) {
            f.version = static_cast<int>(*version);
            f.version_group = f.version;
            f.comment = f.comments[f.version];
        }
    }
    return ok(c, file_dto(f, c.user));
}

http::response docspace_sim::impl::get_folder(const call& c, entry_id id) {
    auto it = folders.find(id);
    if (it == folders.end()) return not_found(c, msg_folder_not_found);
    if (access_of(c.user, id) == access::none) return invalid_operation(c, msg_read_folder);
    return ok(c, folder_dto(it->second, c.user));
}

// FoldersController.GetFolderAsync (GET files/{folderId}): the folder's files, those whose title contains
// filterValue (case-insensitive) when it is given, paged by startIndex/count (default 100), with total. Files
// only: the simulator's folders hold no subfolders that a caller lists.
http::response docspace_sim::impl::get_folder_content(const call& c, entry_id id) {
    auto it = folders.find(id);
    if (it == folders.end()) return not_found(c, msg_folder_not_found);
    if (access_of(c.user, id) == access::none) return invalid_operation(c, msg_read_folder);
    auto q = [&](const char* key) -> std::string {
        auto f = c.query.find(key);
        return f == c.query.end() ? std::string() : f->second;
    };
    auto lower = [](std::string t) {
        for (auto& ch : t) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
        return t;
    };
    const auto filter = lower(q("filterValue"));
    auto number = [&](const char* key, std::int64_t fallback) {
        const auto text = q(key);
        std::int64_t v = fallback;
        std::from_chars(text.data(), text.data() + text.size(), v);
        return v;
    };
    const auto start = std::max<std::int64_t>(number("startIndex", 0), 0);
    const auto count = std::clamp<std::int64_t>(number("count", 100), 1, 1000);
    json::array files;
    std::int64_t total = 0;
    for (const auto& [fid, f] : this->files) {
        if (f.folder_id != id || lower(f.title).find(filter) == std::string::npos) continue;
        if (total++ < start || static_cast<std::int64_t>(files.size()) >= count) continue;
        files.push_back(file_dto(f, c.user));
    }
    json::object content;
    content["files"] = std::move(files);
    content["folders"] = json::array{};
    content["current"] = folder_dto(it->second, c.user);
    content["startIndex"] = start;
    content["count"] = static_cast<std::int64_t>(content["files"].as_array().size());
    content["total"] = total;
    return ok(c, std::move(content));
}

// FoldersController.GetFolderPath: the breadcrumbs from the section root down to the folder itself, each
// a FolderDto, leaving out the ones the caller cannot read.
http::response docspace_sim::impl::get_folder_path(const call& c, entry_id id) {
    auto it = folders.find(id);
    if (it == folders.end()) return not_found(c, msg_folder_not_found);
    if (access_of(c.user, id) == access::none) return invalid_operation(c, msg_read_folder);
    std::vector<const folder_state*> chain;
    for (const folder_state* f = &it->second;;) {
        chain.push_back(f);
        if (f->parent_id == 0) break;
        f = &folders.at(f->parent_id);
    }
    json::array out;
    for (auto p = chain.rbegin(); p != chain.rend(); ++p)
        if (access_of(c.user, (*p)->id) != access::none) out.push_back(folder_dto(**p, c.user));
    return ok(c, std::move(out));
}

// FileStorageService.UpdateCommentAsync: every refusal is an InvalidOperationException (403).
http::response docspace_sim::impl::put_comment(const call& c, entry_id id) {
    auto body = parse_body_object(c.req);
    if (!body) return bad_argument(c, "The request body is not a JSON object");
    const auto version = as_int(find_ci(*body, "version")).value_or(0);
    std::string comment;
    if (auto* v = find_ci(*body, "comment"); v && v->is_string()) comment = std::string(v->get_string());
    auto it = files.find(id);
    if (it == files.end() || !it->second.comments.count(static_cast<int>(version)))
        return invalid_operation(c, msg_file_not_found);
    auto& f = it->second;
    if (access_of(c.user, f.folder_id) != access::full) return invalid_operation(c, msg_edit_file);
    if (locked_for(f, c.user)) return invalid_operation(c, msg_locked_file);
    comment = truncate_code_points(comment, 255);
    f.comments[static_cast<int>(version)] = comment;
    if (version == f.version) f.comment = comment;
    publish("file.updated", c.user, f);
    kick();
    return ok(c, json::string(comment));
}

// ---------------------------------------------------------------------------------------------------------
// fileops

http::response docspace_sim::impl::put_move_copy(const call& c, int type) {
    auto body = parse_body_object(c.req);
    if (!body) return bad_argument(c, "The request body is not a JSON object");
    auto op = std::make_shared<fileop>();
    op->type = type;
    op->owner = c.user;
    auto ids = [&](std::string_view key, std::vector<entry_id>& out) {
        if (auto* v = find_ci(*body, key); v && v->is_array())
            for (const auto& e : v->get_array())
                if (auto n = as_int(&e)) out.push_back(*n);
    };
    ids("fileIds", op->file_ids);
    ids("folderIds", op->folder_ids);
    if (auto* v = find_ci(*body, "conflictResolveType"); v && !v->is_null()) {
        static constexpr std::string_view names[] = {"Skip", "Overwrite", "Duplicate"};
        int resolve = -1;
        if (v->is_string()) {
            for (int k = 0; k < 3; ++k)
                if (iequals_ascii(v->get_string(), names[k])) resolve = k;
            if (resolve < 0)
                if (auto n = as_int(v); n && *n >= 0 && *n <= 2) resolve = static_cast<int>(*n);
        } else if (auto n = as_int(v); n && *n >= 0 && *n <= 2) {
            resolve = static_cast<int>(*n);
        }
        if (resolve < 0) return validation_problem(c, "conflictResolveType", "The JSON value could not be converted.");
        op->resolve = resolve;
    }
    op->hold = !as_bool(find_ci(*body, "deleteAfter")).value_or(false);
    const bool single = as_bool(find_ci(*body, "returnSingleOperation")).value_or(false);

    if (op->file_ids.empty() && op->folder_ids.empty()) return ok(c, (operation_results(c.user, "", type)));

    auto dest = as_int(find_ci(*body, "destFolderId"));
    if (!dest || !folders.count(*dest)) return not_found(c, msg_folder_not_found);
    op->dest = *dest;
    if (op->dest == rooms_root || access_of(c.user, op->dest) != access::full) return access_denied(c);
    for (auto fid : op->file_ids) {
        auto it = files.find(fid);
        if (it == files.end()) continue;  // reported by the operation itself
        const auto a = access_of(c.user, it->second.folder_id);
        if (type == 0 ? a != access::full : a == access::none) return access_denied(c);
    }

    op->id = new_guid();
    op->started_ms = now_ms();
    fileops.push_back(op);
    if (opt.fileop_delay.count() <= 0) {
        complete_fileop(*op);
    } else {
        schedule_fileop(op);
    }
    return ok(c, (operation_results(c.user, single ? op->id : "", type)));
}

// FileOperationsManager.GetOperationResults: a finished operation is dequeued by the poll that sees it and
// reported by that poll only if its result is held; unfinished ones are reported as they are.
json::array docspace_sim::impl::operation_results(const std::string& user, const std::string& id,
                                                  std::optional<int> type) {
    json::array out;
    for (auto it = fileops.begin(); it != fileops.end();) {
        auto& op = **it;
        if (op.owner != user || (!id.empty() && op.id != id)) {
            ++it;
            continue;
        }
        bool dequeue = false;
        if (op.status > 1) {
            op.progress = 100;
            dequeue = true;
        }
        if ((op.hold || op.progress != 100) && (!type || *type == op.type)) out.push_back(fileop_dto(op));
        it = dequeue ? fileops.erase(it) : std::next(it);
    }
    return out;
}

void docspace_sim::impl::schedule_fileop(const std::shared_ptr<fileop>& op) {
    op->timer = std::make_shared<asio::steady_timer>(ctx, opt.fileop_delay);
    std::weak_ptr<impl> weak = shared_from_this();
    std::weak_ptr<fileop> wop = op;
    op->timer->async_wait([weak, wop](boost::system::error_code ec) {
        auto self = weak.lock();
        auto op = wop.lock();
        if (ec || !self || !op) return;
        std::lock_guard lock(self->mu);
        if (self->stopped || op->finished) return;
        if (std::find(self->fileops.begin(), self->fileops.end(), op) == self->fileops.end()) return;
        self->complete_fileop(*op);
    });
}

// FileMoveCopyOperation for files: conflicts resolve by title in the destination; Skip leaves the file out
// of the result and does not count it as processed. Publishes file.moved / file.copied per file.
void docspace_sim::impl::complete_fileop(fileop& op) {
    const bool copy = op.type == 1;
    if (!op.folder_ids.empty()) op.error = "The simulator moves and copies files only";
    for (auto fid : op.file_ids) {
        auto it = files.find(fid);
        if (it == files.end()) {
            op.error = std::string(msg_file_not_found);
            op.effects.push_back({fid, 0, "error"});
            continue;
        }
        file_state& src = it->second;
        if (!copy && locked_for(src, op.owner)) {
            op.error = std::string(msg_locked_file);
            op.effects.push_back({fid, 0, "error"});
            continue;
        }
        if (!copy && src.folder_id == op.dest && op.resolve != 2) {
            // Moving into its own folder changes nothing.
            ++op.processed;
            op.result_files.push_back(src.id);
            op.effects.push_back({fid, src.id, "unchanged"});
            continue;
        }
        file_state* clash = file_titled(op.dest, src.title);
        if (clash && clash->id == src.id) clash = nullptr;
        std::string title = src.title;
        if (clash && op.resolve == 0) {  // Skip
            op.effects.push_back({fid, 0, "skipped"});
            continue;
        }
        if (clash && op.resolve == 2) {
            title = free_title(op.dest, src.title);
            clash = nullptr;
        }
        if (clash) {
            // Overwrite: the destination file gets a new version with the source's content.
            new_version(*clash, op.owner, src.size);
            const auto target_id = clash->id;
            if (!copy) files.erase(it);
            ++op.processed;
            op.result_files.push_back(target_id);
            op.effects.push_back({fid, target_id, "overwritten"});
            publish(copy ? "file.copied" : "file.moved", op.owner, files.at(target_id));
            continue;
        }
        if (copy) {
            auto& dup = create_file(op.dest, title, src.size, op.owner, 0);
            ++op.processed;
            op.result_files.push_back(dup.id);
            op.effects.push_back({fid, dup.id, "copied"});
            publish("file.copied", op.owner, dup);
        } else {
            src.folder_id = op.dest;
            src.title = title;
            ++op.processed;
            op.result_files.push_back(src.id);
            op.effects.push_back({fid, src.id, "moved"});
            publish("file.moved", op.owner, src);
        }
    }
    op.status = 2;
    op.progress = 100;
    op.finished = true;
    fileop_log.push_back({op.id, copy ? "copy" : "move", op.owner, op.dest, op.effects, op.error, op.started_ms, now_ms()});
    kick();
}

http::response docspace_sim::impl::get_fileops(const call& c, std::optional<int> type) {
    std::string id;
    if (auto it = c.query.find("id"); it != c.query.end()) id = it->second;
    return ok(c, (operation_results(c.user, id, type)));
}

// FileOperationsManager.CancelOperations: dequeues the caller's matching operations (their effect never
// happens) and answers with the caller's remaining operations.
http::response docspace_sim::impl::put_terminate(const call& c, const std::string& id) {
    for (auto it = fileops.begin(); it != fileops.end();) {
        auto& op = **it;
        if (op.owner == c.user && (id.empty() || op.id == id)) {
            if (op.timer) op.timer->cancel();
            it = fileops.erase(it);
        } else {
            ++it;
        }
    }
    return ok(c, (operation_results(c.user, "", std::nullopt)));
}

}  // namespace spacehook::sim
