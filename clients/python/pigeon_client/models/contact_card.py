from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.contact_address import ContactAddress
    from ..models.contact_email import ContactEmail
    from ..models.contact_name import ContactName
    from ..models.contact_org import ContactOrg
    from ..models.contact_phone import ContactPhone
    from ..models.contact_url import ContactUrl


T = TypeVar("T", bound="ContactCard")


@_attrs_define
class ContactCard:
    """
    Attributes:
        name (ContactName):
        addresses (list[ContactAddress] | Unset):
        emails (list[ContactEmail] | Unset):
        phones (list[ContactPhone] | Unset):
        urls (list[ContactUrl] | Unset):
        org (ContactOrg | Unset):
        birthday (str | Unset): A date, YYYY-MM-DD
    """

    name: ContactName
    addresses: list[ContactAddress] | Unset = UNSET
    emails: list[ContactEmail] | Unset = UNSET
    phones: list[ContactPhone] | Unset = UNSET
    urls: list[ContactUrl] | Unset = UNSET
    org: ContactOrg | Unset = UNSET
    birthday: str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        name = self.name.to_dict()

        addresses: list[dict[str, Any]] | Unset = UNSET
        if not isinstance(self.addresses, Unset):
            addresses = []
            for addresses_item_data in self.addresses:
                addresses_item = addresses_item_data.to_dict()
                addresses.append(addresses_item)

        emails: list[dict[str, Any]] | Unset = UNSET
        if not isinstance(self.emails, Unset):
            emails = []
            for emails_item_data in self.emails:
                emails_item = emails_item_data.to_dict()
                emails.append(emails_item)

        phones: list[dict[str, Any]] | Unset = UNSET
        if not isinstance(self.phones, Unset):
            phones = []
            for phones_item_data in self.phones:
                phones_item = phones_item_data.to_dict()
                phones.append(phones_item)

        urls: list[dict[str, Any]] | Unset = UNSET
        if not isinstance(self.urls, Unset):
            urls = []
            for urls_item_data in self.urls:
                urls_item = urls_item_data.to_dict()
                urls.append(urls_item)

        org: dict[str, Any] | Unset = UNSET
        if not isinstance(self.org, Unset):
            org = self.org.to_dict()

        birthday = self.birthday

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "name": name,
            }
        )
        if addresses is not UNSET:
            field_dict["addresses"] = addresses
        if emails is not UNSET:
            field_dict["emails"] = emails
        if phones is not UNSET:
            field_dict["phones"] = phones
        if urls is not UNSET:
            field_dict["urls"] = urls
        if org is not UNSET:
            field_dict["org"] = org
        if birthday is not UNSET:
            field_dict["birthday"] = birthday

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.contact_address import ContactAddress  # noqa: PLC0415
        from ..models.contact_email import ContactEmail  # noqa: PLC0415
        from ..models.contact_name import ContactName  # noqa: PLC0415
        from ..models.contact_org import ContactOrg  # noqa: PLC0415
        from ..models.contact_phone import ContactPhone  # noqa: PLC0415
        from ..models.contact_url import ContactUrl  # noqa: PLC0415

        d = dict(src_dict)
        name = ContactName.from_dict(d.pop("name"))

        _addresses = d.pop("addresses", UNSET)
        addresses: list[ContactAddress] | Unset = UNSET
        if _addresses is not UNSET:
            addresses = []
            for addresses_item_data in _addresses:
                addresses_item = ContactAddress.from_dict(addresses_item_data)

                addresses.append(addresses_item)

        _emails = d.pop("emails", UNSET)
        emails: list[ContactEmail] | Unset = UNSET
        if _emails is not UNSET:
            emails = []
            for emails_item_data in _emails:
                emails_item = ContactEmail.from_dict(emails_item_data)

                emails.append(emails_item)

        _phones = d.pop("phones", UNSET)
        phones: list[ContactPhone] | Unset = UNSET
        if _phones is not UNSET:
            phones = []
            for phones_item_data in _phones:
                phones_item = ContactPhone.from_dict(phones_item_data)

                phones.append(phones_item)

        _urls = d.pop("urls", UNSET)
        urls: list[ContactUrl] | Unset = UNSET
        if _urls is not UNSET:
            urls = []
            for urls_item_data in _urls:
                urls_item = ContactUrl.from_dict(urls_item_data)

                urls.append(urls_item)

        _org = d.pop("org", UNSET)
        org: ContactOrg | Unset
        if isinstance(_org, Unset):
            org = UNSET
        else:
            org = ContactOrg.from_dict(_org)

        birthday = d.pop("birthday", UNSET)

        contact_card = cls(
            name=name,
            addresses=addresses,
            emails=emails,
            phones=phones,
            urls=urls,
            org=org,
            birthday=birthday,
        )

        contact_card.additional_properties = d
        return contact_card

    @property
    def additional_keys(self) -> list[str]:
        return list(self.additional_properties.keys())

    def __getitem__(self, key: str) -> Any:
        return self.additional_properties[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.additional_properties[key] = value

    def __delitem__(self, key: str) -> None:
        del self.additional_properties[key]

    def __contains__(self, key: str) -> bool:
        return key in self.additional_properties
