/** Category is one aisle of the shop, as the catalog's category field names it. */
export interface Category {
  id: string
  label: string
}

/** categories are the aisles the navigation offers; admins may file products under others. */
export const categories: Category[] = [
  { id: 'books', label: 'Books' },
  { id: 'electronics', label: 'Electronics' },
  { id: 'kitchen', label: 'Kitchen' },
  { id: 'garden', label: 'Garden' },
  { id: 'toys', label: 'Toys' },
  { id: 'sports', label: 'Sports' },
]

/** categoryLabel is the display name of a category id. */
export function categoryLabel(id: string): string {
  return categories.find((c) => c.id === id)?.label ?? id.charAt(0).toUpperCase() + id.slice(1).replace(/-/g, ' ')
}
