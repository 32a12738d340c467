//! Notes, attachments, documents and Salesforce Files (ContentDocument /
//! ContentVersion / ContentDocumentLink): the objects that carry binary bodies.

use super::FieldType::{Boolean, Int, Picklist, Reference, String as Text, TextArea};
use super::standard::{LINK_TARGETS, PARENT_TARGETS};
use super::{ObjectDef, OnDelete, field, obj};

/// The content objects, in table order.
pub fn objects() -> Vec<ObjectDef> {
    vec![
        obj("Note", "002", "Note", "Notes")
            .f(field("ParentId", Reference)
                .refs(PARENT_TARGETS, "Parent", OnDelete::Cascade)
                .req()
                .create_only())
            .f(field("Title", Text).len(80).req().name_field().no_intern())
            .f(field("IsPrivate", Boolean).label("Private"))
            .f(field("Body", TextArea).len(32000))
            .owner()
            .build(),
        obj("Attachment", "00P", "Attachment", "Attachments")
            .f(field("ParentId", Reference)
                .refs(PARENT_TARGETS, "Parent", OnDelete::Cascade)
                .req()
                .create_only())
            .f(field("Name", Text)
                .len(255)
                .req()
                .name_field()
                .label("File Name"))
            .f(field("IsPrivate", Boolean).label("Private"))
            .f(field("ContentType", Text).len(120).interned())
            .f(field("BodyLength", Int)
                .derived("LEN(Body)")
                .label("Body Length"))
            .f(field("Body", super::FieldType::Base64).req())
            .owner()
            .f(field("Description", TextArea).len(500))
            .build(),
        obj("Folder", "00l", "Folder", "Folders")
            .flags(|f| {
                f.createable = false;
                f.updateable = false;
                f.deletable = false;
                f.undeletable = false;
                f.has_is_deleted = false;
                f.replicateable = false;
                f.triggerable = false;
            })
            .f(field("Name", Text).len(40).req().name_field().ro())
            .f(field("DeveloperName", Text).len(80).ro())
            .f(field("AccessType", Picklist)
                .pick(&["Shared", "Public", "Hidden"])
                .ro())
            .f(field("IsReadonly", Boolean).ro())
            .f(field("Type", Picklist)
                .pick(&["Document", "Email", "Report", "Dashboard"])
                .req()
                .ro())
            .build(),
        obj("Document", "015", "Document", "Documents")
            .f(field("FolderId", Reference)
                .refs(&["Folder", "User"], "Folder", OnDelete::Restrict)
                .req())
            .f(field("Name", Text)
                .len(255)
                .req()
                .name_field()
                .label("Document Name"))
            .f(field("DeveloperName", Text)
                .len(80)
                .req()
                .unique()
                .label("Document Unique Name"))
            .f(field("ContentType", Text)
                .len(120)
                .interned()
                .label("MIME Type"))
            .f(field("Type", Text)
                .len(40)
                .interned()
                .label("File Extension"))
            .f(field("IsPublic", Boolean).label("Externally Available"))
            .f(field("BodyLength", Int)
                .derived("LEN(Body)")
                .label("Body Length"))
            .f(field("Body", super::FieldType::Base64))
            .f(field("Description", TextArea).len(255))
            .f(field("Keywords", Text).len(255))
            .f(field("IsInternalUseOnly", Boolean).label("Internal Use Only"))
            .f(field("AuthorId", Reference)
                .refs(&["User"], "Author", OnDelete::Restrict)
                .defaulted())
            .build(),
        obj(
            "ContentDocument",
            "069",
            "Content Document",
            "Content Documents",
        )
        .flags(|f| {
            f.createable = false;
            f.replicateable = true;
        })
        .owner()
        .f(field("Title", Text).len(255).req().name_field())
        .f(field("PublishStatus", Picklist).pick(&["P", "R", "U"]).ro())
        .f(field("LatestPublishedVersionId", Reference)
            .refs(
                &["ContentVersion"],
                "LatestPublishedVersion",
                OnDelete::SetNull,
            )
            .ro())
        .f(field("ContentSize", Int).ro().label("Size"))
        .f(field("FileType", Text).len(20).ro().interned())
        .f(field("FileExtension", Text).len(40).ro().interned())
        .f(field("Description", TextArea).len(1000))
        .build(),
        obj(
            "ContentVersion",
            "068",
            "Content Version",
            "Content Versions",
        )
        .flags(|f| {
            f.deletable = false;
            f.undeletable = false;
        })
        .f(field("ContentDocumentId", Reference)
            .refs(&["ContentDocument"], "ContentDocument", OnDelete::Cascade)
            .create_only()
            .defaulted())
        .f(field("IsLatest", Boolean).ro())
        .f(field("VersionNumber", Text).len(20).ro())
        .f(field("Title", Text).len(255).req().name_field())
        .f(field("Description", TextArea).len(1000))
        .f(field("ReasonForChange", Text).len(1000))
        .f(field("PathOnClient", Text).len(500).req().create_only())
        .f(field("ContentSize", Int)
            .derived("LEN(VersionData)")
            .label("Size"))
        .f(field("FileType", Text).len(20).ro().interned())
        .f(field("FileExtension", Text).len(40).ro().interned())
        .f(field("FirstPublishLocationId", Reference)
            .refs(LINK_TARGETS, "FirstPublishLocation", OnDelete::SetNull)
            .create_only())
        .f(field("Origin", Picklist).pick(&["*C", "H"]).create_only())
        .f(field("ContentLocation", Picklist)
            .pick(&["*S", "E", "L"])
            .create_only())
        .f(field("VersionData", super::FieldType::Base64)
            .req()
            .create_only())
        .owner()
        .build(),
        obj(
            "ContentDocumentLink",
            "06A",
            "Content Document Link",
            "Content Document Links",
        )
        .flags(|f| {
            f.undeletable = false;
            f.replicateable = false;
            f.needs_id_filter = true;
            f.triggerable = true;
        })
        .f(field("LinkedEntityId", Reference)
            .refs(LINK_TARGETS, "LinkedEntity", OnDelete::Cascade)
            .req()
            .create_only())
        .f(field("ContentDocumentId", Reference)
            .refs(&["ContentDocument"], "ContentDocument", OnDelete::Cascade)
            .req()
            .create_only())
        .f(field("ShareType", Picklist)
            .pick(&["V", "C", "I"])
            .restricted()
            .req())
        .f(field("Visibility", Picklist)
            .pick(&["*AllUsers", "InternalUsers", "SharedUsers"])
            .restricted())
        .build(),
    ]
}
